//! Batch ingest: carriers' tracking feeds (JSON or CSV) and their manifests of parcels coming
//! down to the villages. A batch is checked whole first — every bad row listed with its line,
//! column and reason, nothing written — then written in one transaction: events in multi-row
//! inserts (SQLite) or from arrays (PostgreSQL), repeats recognised by the carrier-event
//! unique index and skipped, and each touched parcel's state advanced once from its new
//! events (replayed from all of them only when one arrived older than what it already had).

use crate::db::csvio::read_csv;
use crate::error::RowError;
use crate::logistics::parcels::{ParcelRow, ParcelWrites};
use crate::orders::{anonymous_marks, placeholders_from};
use crate::{Db, Store, StoreError, in_tx, on_read};
use bazaar_domain::logistics::{Direction, ParcelState, check_waybill, kuaidi100_state};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::{Zone, now_ms};
use serde::Serialize;
use std::collections::HashMap;

/// Rows one batch may hold.
pub const MAX_BATCH: usize = 20_000;

/// One carrier tracking event of a batch feed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct FeedEvent {
    /// Carrier code (快递100's: `yuantong`, `shunfeng`, …).
    #[serde(default)]
    pub carrier: String,
    /// Waybill number.
    #[serde(default)]
    pub waybill: String,
    /// The carrier's state code (快递100's: 0 在途, 1 揽收, 3 签收, 501 投柜或驿站, …).
    #[serde(default)]
    pub code: String,
    /// When it happened (UTC ms); or `time`.
    #[serde(default)]
    pub at: Option<i64>,
    /// When it happened, `YYYY-MM-DD HH:MM:SS` Beijing time (as carriers write it).
    #[serde(default)]
    pub time: Option<String>,
    /// Where, as the carrier wrote it.
    #[serde(default)]
    pub place: Option<String>,
    /// The carrier's text.
    #[serde(default)]
    pub note: Option<String>,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestSummary {
    /// Events in the batch.
    pub events: usize,
    /// Events not seen before (the others changed nothing).
    pub new: usize,
    /// Parcels whose timeline grew.
    pub parcels: usize,
}

/// An event as inserted: (parcel, state, at, place, node, client id).
pub(crate) type Inserted = (
    i64,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A parcel's new (id, state, last event, place, node).
type Update = (i64, String, i64, Option<String>, Option<String>);

/// A checked event, ready to write.
pub(crate) struct Row {
    pub parcel: i64,
    pub code: String,
    pub state: Option<&'static str>,
    pub place: Option<String>,
    pub note: Option<String>,
    pub at: i64,
    /// For scans: where, who, and the phone's id of the scan.
    pub node: Option<String>,
    pub actor: Option<i64>,
    pub client_id: Option<String>,
}

/// A parcel as the batch finds it.
#[derive(Clone, sqlx::FromRow)]
pub(crate) struct Known {
    pub id: i64,
    pub carrier: String,
    pub waybill: String,
    pub direction: String,
    pub state: String,
    pub last_event_at: Option<i64>,
    pub order_id: Option<i64>,
}

fn row_err(line: u64, column: &str, reason: &str) -> RowError {
    RowError {
        line,
        column: column.to_string(),
        reason: reason.to_string(),
    }
}

/// Reads a tracking feed CSV (`carrier,waybill,code,time,place,note`; `time` as
/// `YYYY-MM-DD HH:MM:SS` Beijing time or UTC milliseconds) into events with their lines.
pub fn read_feed_csv(bytes: &[u8]) -> Result<Vec<(u64, FeedEvent)>, StoreError> {
    let file = read_csv(
        bytes,
        &["carrier", "waybill", "code", "time", "place", "note"],
        &["carrier", "waybill", "code", "time"],
    )
    .map_err(StoreError::Csv)?;
    let get = |m: &HashMap<String, String>, k: &str| {
        m.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Ok(file
        .rows
        .iter()
        .map(|(line, m)| {
            let time = get(m, "time").unwrap_or_default();
            let (at, time) = match time.parse::<i64>() {
                Ok(ms) => (Some(ms), None),
                Err(_) => (None, Some(time)),
            };
            (
                *line,
                FeedEvent {
                    carrier: get(m, "carrier").unwrap_or_default(),
                    waybill: get(m, "waybill").unwrap_or_default(),
                    code: get(m, "code").unwrap_or_default(),
                    at,
                    time,
                    place: get(m, "place"),
                    note: get(m, "note"),
                },
            )
        })
        .collect())
}

impl Store {
    /// Parcels by (carrier, normalised waybill), in chunks.
    pub(crate) async fn known_parcels(
        &self,
        waybills: &[String],
    ) -> Result<HashMap<(String, String), Known>, StoreError> {
        let mut out = HashMap::with_capacity(waybills.len());
        for chunk in waybills.chunks(500) {
            let rows: Vec<Known> = match self.db() {
                Db::Sqlite { read, .. } => {
                    let marks = anonymous_marks(chunk.len());
                    let sql = format!(
                        "SELECT id, carrier, waybill, direction, state, last_event_at, order_id FROM parcels \
                         WHERE waybill IN ({marks})"
                    );
                    let mut q = sqlx::query_as(&sql);
                    for w in chunk {
                        q = q.bind(w);
                    }
                    q.fetch_all(read).await?
                }
                Db::Pg(p) => {
                    sqlx::query_as(
                        "SELECT id, carrier, waybill, direction, state, last_event_at, order_id FROM parcels \
                         WHERE waybill = ANY($1)",
                    )
                    .bind(chunk)
                    .fetch_all(p)
                    .await?
                }
            };
            for k in rows {
                out.insert((k.carrier.clone(), k.waybill.clone()), k);
            }
        }
        Ok(out)
    }

    /// Ingests a batch of carrier events (operators and admins; `actor` `None` for the
    /// system's own feeds): all checked first, every bad row listed, nothing written unless
    /// all are good; then written in one transaction.
    pub async fn ingest_carrier_events(
        &self,
        actor: Option<&Actor>,
        batch: &[(u64, FeedEvent)],
    ) -> Result<IngestSummary, StoreError> {
        if actor.is_some_and(|a| !a.role.runs_network()) {
            return Err(StoreError::Forbidden);
        }
        if batch.len() > MAX_BATCH {
            return Err(StoreError::Csv(vec![row_err(0, "", "too_many_rows")]));
        }
        let now = now_ms();
        let mut errors = Vec::new();
        let mut checked = Vec::with_capacity(batch.len());
        for (idx, (line, e)) in batch.iter().enumerate() {
            let line = *line;
            let waybill = match check_waybill(e.carrier.trim(), &e.waybill) {
                Ok(w) => Some(w),
                Err(f) => {
                    errors.push(row_err(line, &f.field, f.reason.code()));
                    None
                }
            };
            let code = e.code.trim();
            if code.is_empty() || code.len() > 10 {
                errors.push(row_err(line, "code", "invalid_format"));
            }
            let at = e.at.or_else(|| {
                e.time
                    .as_deref()
                    .and_then(|t| Zone::Shanghai.parse_local(t))
            });
            let at = match at {
                // From 2000 until an hour from now (carriers' clocks drift a little).
                Some(at) if (946_684_800_000..=now + 3_600_000).contains(&at) => Some(at),
                Some(_) => {
                    errors.push(row_err(line, "time", "out_of_range"));
                    None
                }
                None => {
                    errors.push(row_err(line, "time", "invalid_format"));
                    None
                }
            };
            if let (Some(w), Some(at)) = (waybill, at) {
                checked.push((idx, line, e.carrier.trim().to_string(), w, at));
            }
        }
        let mut waybills: Vec<String> = checked.iter().map(|c| c.3.clone()).collect();
        waybills.sort_unstable();
        waybills.dedup();
        let known = self.known_parcels(&waybills).await?;
        let mut rows = Vec::with_capacity(checked.len());
        let mut lines = Vec::with_capacity(checked.len());
        for (idx, line, carrier, waybill, at) in checked {
            let e = &batch[idx].1;
            match known.get(&(carrier, waybill)) {
                Some(k) => {
                    lines.push(line);
                    rows.push(Row {
                        parcel: k.id,
                        code: e.code.trim().to_string(),
                        state: kuaidi100_state(&e.code).map(ParcelState::as_str),
                        place: e.place.as_ref().map(|x| x.chars().take(100).collect()),
                        note: e.note.as_ref().map(|x| x.chars().take(500).collect()),
                        at,
                        node: None,
                        actor: None,
                        client_id: None,
                    })
                }
                None => errors.push(row_err(line, "waybill", "unknown_reference")),
            }
        }
        // An operator feeds events only for parcels of its region (by destination, where they
        // were last seen, or their seller's village).
        if let Some(a) = actor.filter(|a| a.role == Role::Operator) {
            let mut ids: Vec<i64> = rows.iter().map(|r| r.parcel).collect();
            ids.sort_unstable();
            ids.dedup();
            let allowed = self.parcels_in_scope(a, &ids).await?;
            for (r, line) in rows.iter().zip(&lines) {
                // As an unknown waybill: the answer does not confirm that it exists elsewhere.
                if !allowed.contains(&r.parcel) {
                    errors.push(row_err(*line, "waybill", "unknown_reference"));
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(StoreError::Csv(errors));
        }
        let (inserted, states, delivered) = self.write_events("carrier", &rows, now).await?;
        let touched = states.len();
        let new = inserted.len();
        for o in delivered {
            self.deliver_by_parcels(o, None).await?;
        }
        Ok(IngestSummary {
            events: batch.len(),
            new,
            parcels: touched,
        })
    }

    /// The ids among `ids` of parcels in an operator's region (by destination region or
    /// point, the node where they were last seen, or their seller's village).
    pub(crate) async fn parcels_in_scope(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<std::collections::HashSet<i64>, StoreError> {
        let scope = crate::logistics::watch::scope_like(actor);
        let mut out = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let marks = placeholders_from(2, chunk.len());
            let sql = format!(
                "SELECT p.id FROM parcels p {} WHERE p.id IN ({marks}) AND (rd.path LIKE $1 \
                 OR rdn.path LIKE $1 OR rn.path LIKE $1 OR rs.path LIKE $1)",
                crate::logistics::watch::JOINS
            );
            let found: Vec<i64> = on_read!(self, |p| {
                let mut q = sqlx::query_scalar(&sql).bind(&scope);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(p).await?
            });
            out.extend(found);
        }
        Ok(out)
    }

    /// Writes checked events (`source` carrier or scan) in one transaction and advances
    /// their parcels. Returns (the events inserted, parcels touched, orders whose parcel was
    /// just delivered).
    pub(crate) async fn write_events(
        &self,
        source: &'static str,
        rows: &[Row],
        now: i64,
    ) -> Result<(Vec<Inserted>, HashMap<i64, String>, Vec<i64>), StoreError> {
        let db = self.db().clone();
        let mut tx_sqlite = None;
        let mut tx_pg = None;
        match &db {
            Db::Sqlite { write, .. } => tx_sqlite = Some(write.begin().await?),
            Db::Pg(p) => tx_pg = Some(p.begin().await?),
        }
        // The parcels' rows first, in id order, before any event refers to them: an event's
        // foreign key takes a share lock on its parcel, and taking the row lock after it
        // deadlocked two writers of one parcel on PostgreSQL. Every writer of events locks
        // its parcels first, in id order (SQLite has one writer).
        if let Some(tx) = tx_pg.as_mut() {
            let mut ids: Vec<i64> = rows.iter().map(|r| r.parcel).collect();
            ids.sort_unstable();
            ids.dedup();
            for chunk in ids.chunks(5000) {
                sqlx::query(
                    "SELECT id FROM parcels WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
                )
                .bind(chunk)
                .execute(&mut **tx)
                .await?;
            }
        }
        let mut inserted: Vec<Inserted> = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(400) {
            if let Some(tx) = tx_sqlite.as_mut() {
                let mut sql = String::from(
                    "INSERT INTO parcel_events (parcel_id, source, code, state, place, note, at, \
                     node_code, actor_id, client_id, received_at) VALUES ",
                );
                // Only the columns this source fills are bound (binding is what a row costs
                // here): a carrier event has a place and a note, a scan a node, an actor and
                // a client id.
                let carrier = source == "carrier";
                // Anonymous parameters (see `anonymous_marks`), bound in the order written.
                let row = if carrier {
                    format!("(?, 'carrier', ?, ?, ?, ?, ?, NULL, NULL, NULL, {now})")
                } else {
                    format!("(?, '{source}', ?, ?, NULL, NULL, ?, ?, ?, ?, {now})")
                };
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&row);
                }
                sql.push_str(
                    " ON CONFLICT DO NOTHING RETURNING parcel_id, state, at, place, node_code, \
                     client_id",
                );
                // SQLite binds NULL for a parameter left unbound: count them here.
                debug_assert_eq!(
                    sql.matches('?').count(),
                    chunk.len() * if carrier { 6 } else { 7 }
                );
                let mut q = sqlx::query_as::<_, Inserted>(&sql);
                for r in chunk {
                    q = q.bind(r.parcel).bind(&r.code).bind(r.state);
                    q = if carrier {
                        q.bind(&r.place).bind(&r.note).bind(r.at)
                    } else {
                        q.bind(r.at).bind(&r.node).bind(r.actor).bind(&r.client_id)
                    };
                }
                inserted.extend(q.fetch_all(&mut **tx).await?);
            } else if let Some(tx) = tx_pg.as_mut() {
                let ids: Vec<i64> = chunk.iter().map(|r| r.parcel).collect();
                let codes: Vec<&str> = chunk.iter().map(|r| r.code.as_str()).collect();
                let states: Vec<Option<&str>> = chunk.iter().map(|r| r.state).collect();
                let places: Vec<Option<&str>> = chunk.iter().map(|r| r.place.as_deref()).collect();
                let notes: Vec<Option<&str>> = chunk.iter().map(|r| r.note.as_deref()).collect();
                let ats: Vec<i64> = chunk.iter().map(|r| r.at).collect();
                let nodes: Vec<Option<&str>> = chunk.iter().map(|r| r.node.as_deref()).collect();
                let actors: Vec<Option<i64>> = chunk.iter().map(|r| r.actor).collect();
                let cids: Vec<Option<&str>> =
                    chunk.iter().map(|r| r.client_id.as_deref()).collect();
                inserted.extend(
                    sqlx::query_as::<_, Inserted>(
                        "INSERT INTO parcel_events (parcel_id, source, code, state, place, note, \
                         at, node_code, actor_id, client_id, received_at) \
                         SELECT p, $10, c, s, pl, n, a, nd, ac, ci, $7 FROM \
                         UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::bigint[], $8::text[], $9::bigint[], $11::text[]) \
                         AS t(p, c, s, pl, n, a, nd, ac, ci) \
                         ON CONFLICT DO NOTHING RETURNING parcel_id, state, at, place, node_code, \
                         client_id",
                    )
                    .bind(&ids)
                    .bind(&codes)
                    .bind(&states)
                    .bind(&places)
                    .bind(&notes)
                    .bind(&ats)
                    .bind(now)
                    .bind(&nodes)
                    .bind(&actors)
                    .bind(source)
                    .bind(&cids)
                    .fetch_all(&mut **tx)
                    .await?,
                );
            }
        }
        // Each touched parcel once: forward from its state when its new events are not older
        // than what it had; replayed from all its events otherwise.
        let mut per: HashMap<i64, Vec<&Inserted>> = HashMap::new();
        for e in &inserted {
            per.entry(e.0).or_default().push(e);
        }
        // Their state as it is now, inside the transaction (rows locked above): not as it
        // was when the batch was checked.
        let mut ids: Vec<i64> = per.keys().copied().collect();
        ids.sort_unstable();
        let mut fresh: HashMap<i64, Known> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<Known> = if let Some(tx) = tx_sqlite.as_mut() {
                let marks = anonymous_marks(chunk.len());
                let sql = format!(
                    "SELECT id, carrier, waybill, direction, state, last_event_at, order_id \
                     FROM parcels WHERE id IN ({marks})"
                );
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(&mut **tx).await?
            } else if let Some(tx) = tx_pg.as_mut() {
                sqlx::query_as(
                    "SELECT id, carrier, waybill, direction, state, last_event_at, order_id \
                     FROM parcels WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
                )
                .bind(chunk)
                .fetch_all(&mut **tx)
                .await?
            } else {
                Vec::new()
            };
            fresh.extend(rows.into_iter().map(|k| (k.id, k)));
        }
        let known = &fresh;
        let mut updates: Vec<Update> = Vec::with_capacity(per.len());
        let mut replay = Vec::new();
        let mut delivered = Vec::new();
        for (id, mut evs) in per {
            let Some(k) = known.get(&id) else { continue };
            evs.sort_by_key(|e| e.2);
            let oldest = evs.first().map(|e| e.2).unwrap_or(i64::MAX);
            // A parcel that never moved from `ordered` replays the same from its state.
            let fresh = k.state == ParcelState::Ordered.as_str();
            if !fresh && k.last_event_at.is_some_and(|last| oldest < last) {
                replay.push(id);
                continue;
            }
            let before = ParcelState::from_db(&k.state).unwrap_or(ParcelState::Ordered);
            let after = evs
                .iter()
                .filter_map(|e| e.1.as_deref().and_then(ParcelState::from_db))
                .fold(before, ParcelState::after);
            if after == ParcelState::Delivered && before != ParcelState::Delivered {
                delivered.extend(k.order_id);
            }
            // The time of the latest news never goes back (the watch reads it).
            let newest = evs
                .last()
                .map(|e| e.2)
                .unwrap_or(now)
                .max(k.last_event_at.unwrap_or(i64::MIN));
            let place = evs.iter().rev().find_map(|e| e.3.clone());
            let node = evs.iter().rev().find_map(|e| e.4.clone());
            updates.push((id, after.as_str().to_string(), newest, place, node));
        }
        let mut after_states: HashMap<i64, String> =
            updates.iter().map(|u| (u.0, u.1.clone())).collect();
        if let Some(mut tx) = tx_sqlite {
            // Many parcels per statement: UPDATE … FROM a VALUES list.
            for chunk in updates.chunks(200) {
                let mut sql = String::from(
                    "UPDATE parcels SET state = v.column2, last_event_at = v.column3, \
                     last_place = COALESCE(v.column4, last_place), \
                     last_node = COALESCE(v.column5, last_node), \
                     pickup_code = CASE WHEN v.column2 = 'in_locker_or_station' \
                     THEN pickup_code ELSE NULL END, updated_at = ",
                );
                sql.push_str(&now.to_string());
                sql.push_str(" FROM (VALUES ");
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str("(?, ?, ?, ?, ?)");
                }
                sql.push_str(") AS v WHERE parcels.id = v.column1");
                let mut q = sqlx::query(&sql);
                for (id, state, at, place, node) in chunk {
                    q = q.bind(id).bind(state).bind(at).bind(place).bind(node);
                }
                q.execute(&mut *tx).await?;
            }
            for id in &replay {
                let c = &mut *tx;
                let (_, after) = c.settle(*id, now).await?;
                after_states.insert(*id, after.as_str().to_string());
            }
            tx.commit().await?;
        } else if let Some(mut tx) = tx_pg {
            let ids: Vec<i64> = updates.iter().map(|u| u.0).collect();
            let states: Vec<&str> = updates.iter().map(|u| u.1.as_str()).collect();
            let ats: Vec<i64> = updates.iter().map(|u| u.2).collect();
            let places: Vec<Option<&str>> = updates.iter().map(|u| u.3.as_deref()).collect();
            let nodes: Vec<Option<&str>> = updates.iter().map(|u| u.4.as_deref()).collect();
            sqlx::query(
                "UPDATE parcels p SET state = u.s, last_event_at = u.a, \
                 last_place = COALESCE(u.pl, p.last_place), \
                 last_node = COALESCE(u.nd, p.last_node), \
                 pickup_code = CASE WHEN u.s = 'in_locker_or_station' THEN p.pickup_code \
                 ELSE NULL END, updated_at = $5 \
                 FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $6::text[]) \
                 AS u(i, s, a, pl, nd) WHERE p.id = u.i",
            )
            .bind(&ids)
            .bind(&states)
            .bind(&ats)
            .bind(&places)
            .bind(now)
            .bind(&nodes)
            .execute(&mut *tx)
            .await?;
            for id in &replay {
                let c = &mut *tx;
                let (_, after) = c.settle(*id, now).await?;
                after_states.insert(*id, after.as_str().to_string());
            }
            tx.commit().await?;
        }
        if !replay.is_empty() {
            // A replayed parcel may have just been delivered too.
            let orders: Vec<Option<i64>> = on_read!(self, |p| {
                let mut v = Vec::new();
                for id in &replay {
                    v.push(
                        sqlx::query_scalar(
                            "SELECT order_id FROM parcels WHERE id = $1 AND state = 'delivered'",
                        )
                        .bind(id)
                        .fetch_optional(p)
                        .await?
                        .flatten(),
                    );
                }
                v
            });
            delivered.extend(orders.into_iter().flatten());
        }
        Ok((inserted, after_states, delivered))
    }

    /// Registers a carrier's manifest of parcels (CSV: `carrier,waybill,recipient_name,
    /// recipient_phone,destination_node_id,weight_g,volume_cm3,cold_chain,sender_name`), all
    /// or nothing: every bad row is listed (unknown carrier, a waybill not in its format or
    /// already registered, twice in the file, an unknown point, a bad phone or number).
    pub async fn import_manifest(
        &self,
        actor: &Actor,
        bytes: &[u8],
    ) -> Result<IngestSummary, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        let file = read_csv(
            bytes,
            &[
                "carrier",
                "waybill",
                "recipient_name",
                "recipient_phone",
                "destination_node_id",
                "weight_g",
                "volume_cm3",
                "cold_chain",
                "sender_name",
            ],
            &[
                "carrier",
                "waybill",
                "recipient_name",
                "recipient_phone",
                "destination_node_id",
            ],
        )
        .map_err(StoreError::Csv)?;
        if file.rows.len() > MAX_BATCH {
            return Err(StoreError::Csv(vec![row_err(0, "", "too_many_rows")]));
        }
        let nodes: HashMap<String, String> = on_read!(self, |p| {
            sqlx::query_as::<_, (String, String)>(
                "SELECT n.code, r.path FROM nodes n JOIN regions r ON r.code = n.region_code",
            )
            .fetch_all(p)
            .await?
        })
        .into_iter()
        .collect();
        let get = |m: &HashMap<String, String>, k: &str| {
            m.get(k).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut plan = Vec::new();
        for (line, m) in &file.rows {
            let line = *line;
            let carrier = get(m, "carrier");
            let waybill = match check_waybill(&carrier, &get(m, "waybill")) {
                Ok(w) => Some(w),
                Err(f) => {
                    errors.push(row_err(line, &f.field, f.reason.code()));
                    None
                }
            };
            if let Some(w) = &waybill
                && !seen.insert((carrier.clone(), w.clone()))
            {
                errors.push(row_err(line, "waybill", "duplicate"));
            }
            let name = get(m, "recipient_name");
            if name.is_empty() || name.chars().count() > 40 {
                errors.push(row_err(line, "recipient_name", "required"));
            }
            let phone = get(m, "recipient_phone");
            if !(7..=15).contains(&phone.len())
                || !phone.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            {
                errors.push(row_err(line, "recipient_phone", "invalid_format"));
            }
            let node = get(m, "destination_node_id");
            match nodes.get(&node) {
                None => errors.push(row_err(line, "destination_node_id", "unknown_reference")),
                Some(path) => {
                    let scope = actor.region_path.as_deref().unwrap_or("-");
                    if actor.role == Role::Operator
                        && (scope.is_empty() || !path.starts_with(scope))
                    {
                        errors.push(row_err(line, "destination_node_id", "out_of_scope"));
                    }
                }
            }
            let num = |k: &str, max: i64, errors: &mut Vec<RowError>| -> i64 {
                let v = get(m, k);
                if v.is_empty() {
                    return 0;
                }
                match v.parse::<i64>() {
                    Ok(n) if (0..=max).contains(&n) => n,
                    _ => {
                        errors.push(row_err(line, k, "out_of_range"));
                        0
                    }
                }
            };
            let weight = num("weight_g", 1_000_000, &mut errors);
            let volume = num("volume_cm3", 10_000_000, &mut errors);
            let cold = match get(m, "cold_chain").to_ascii_lowercase().as_str() {
                "" | "0" | "false" | "no" | "否" => false,
                "1" | "true" | "yes" | "是" => true,
                _ => {
                    errors.push(row_err(line, "cold_chain", "unknown_choice"));
                    false
                }
            };
            let sender = Some(get(m, "sender_name")).filter(|s| !s.is_empty());
            if let Some(w) = waybill {
                plan.push((
                    carrier, w, name, phone, node, weight, volume, cold, sender, line,
                ));
            }
        }
        let waybills: Vec<String> = plan.iter().map(|p| p.1.clone()).collect();
        let existing = self.known_parcels(&waybills).await?;
        for p in &plan {
            if existing.contains_key(&(p.0.clone(), p.1.clone())) {
                errors.push(row_err(p.9, "waybill", "duplicate"));
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(StoreError::Csv(errors));
        }
        let now = now_ms();
        let n = plan.len();
        in_tx!(self, |c| {
            for (carrier, waybill, name, phone, node, weight, volume, cold, sender, _) in &plan {
                c.insert_parcel(&ParcelRow {
                    carrier,
                    waybill,
                    direction: Direction::Downstream,
                    weight_g: *weight,
                    volume_cm3: *volume,
                    cold_chain: *cold,
                    sender_name: sender.as_deref(),
                    sender_phone: None,
                    recipient_name: name,
                    recipient_phone: phone,
                    dest_region: None,
                    dest_node: Some(node),
                    order_id: None,
                    part_id: None,
                    seller_id: None,
                    state: ParcelState::InTransit,
                    created_by: Some(actor.user_id),
                    at: now,
                })
                .await?;
            }
            Ok(())
        })?;
        Ok(IngestSummary {
            events: n,
            new: n,
            parcels: n,
        })
    }
}
