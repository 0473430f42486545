//! The 48-hour watch: an open parcel whose last event (our scan or the carrier's) is older
//! than its carrier's and direction's limit is stalled. A shop is punished when its parcels
//! show no tracking update for 48 hours, so the county sees them first: a job flags them and
//! tells their sellers, and operators see the list as of now by carrier, node and seller,
//! where each parcel stopped and for how long, and annotate it.
//!
//! Flagging reads a partial index that holds only open parcels ordered by their last event
//! per carrier and direction, and only the slice that became overdue since the last run: its
//! cost is what it flags, not how many parcels there are.

use crate::db::page::Param;
use crate::logistics::pickup::{NotificationRow, PickupWrites};
use crate::notify::Message;
use crate::{Store, StoreError, bind_params, in_tx, on_read};
use bazaar_domain::logistics::{CARRIERS, Direction};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;
use std::collections::HashMap;

const HOUR_MS: i64 = 3600 * 1000;

/// The LIKE pattern of an actor's region; one that matches nothing when it has none.
pub(crate) fn scope_like(actor: &Actor) -> String {
    match &actor.region_path {
        Some(p) if !p.is_empty() => format!("{p}%"),
        _ => "-".into(),
    }
}
const OPEN: &str = "state NOT IN ('delivered', 'returned', 'cancelled')";
const DIRECTIONS: [Direction; 3] = [
    Direction::Upstream,
    Direction::Downstream,
    Direction::SameCity,
];

fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Upstream => "upstream",
        Direction::Downstream => "downstream",
        Direction::SameCity => "same_city",
    }
}

/// How long a parcel may go without news: `*` matches any carrier or direction.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema,
)]
pub struct WatchRule {
    /// Carrier code or `*`.
    #[schema(
        pattern = "^(\\*|ems|shunfeng|yuantong|yunda|zhongtong|shentong|jtexpress|jd|qinge|huizhong)$"
    )]
    pub carrier: String,
    /// upstream, downstream, same_city or `*`.
    #[schema(pattern = "^(\\*|upstream|downstream|same_city)$")]
    pub direction: String,
    /// Hours, 1 to 1440.
    #[schema(minimum = 1, maximum = 1440)]
    pub hours: i64,
}

/// The limit for a carrier and direction: the most specific rule (48 hours without one).
pub fn hours_for(rules: &[WatchRule], carrier: &str, direction: &str) -> i64 {
    let score = |r: &WatchRule| {
        let c = r.carrier == carrier;
        let d = r.direction == direction;
        let fits = (c || r.carrier == "*") && (d || r.direction == "*");
        fits.then_some(2 * c as u8 + d as u8)
    };
    rules
        .iter()
        .filter_map(|r| score(r).map(|s| (s, r.hours)))
        .max_by_key(|(s, _)| *s)
        .map(|(_, h)| h)
        .unwrap_or(48)
}

/// A stalled parcel as the operator sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StalledParcel {
    /// Parcel id.
    pub id: i64,
    /// Carrier code.
    pub carrier: String,
    /// Waybill.
    pub waybill: String,
    /// upstream, downstream or same_city.
    pub direction: String,
    /// Canonical state it stopped in.
    pub state: String,
    /// Seller, when it belongs to an order.
    pub seller_id: Option<i64>,
    /// Seller's name.
    pub seller_name: Option<String>,
    /// The node it was last scanned at.
    pub last_node: Option<String>,
    /// That node's name.
    pub last_node_name: Option<String>,
    /// Where the carrier last saw it.
    pub last_place: Option<String>,
    /// Its last event (UTC ms).
    pub last_event_at: i64,
    /// When the watch flagged this stall (UTC ms), if the job has run since.
    pub flagged_at: Option<i64>,
    /// Notes written about it.
    pub notes: i64,
    /// The latest note.
    pub last_note: Option<String>,
}

/// Which stalled parcels to list.
#[derive(Debug, Clone, Default)]
pub struct StalledFilter {
    /// Only this carrier.
    pub carrier: Option<String>,
    /// Only parcels last scanned at this node.
    pub node: Option<String>,
    /// Only this seller's.
    pub seller_id: Option<i64>,
    /// After this (last_event_at, id).
    pub after: Option<(i64, i64)>,
    /// Page size (default 20, at most 100; 1000 for CSV).
    pub limit: i64,
}

/// Counts of stalled parcels grouped one way.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StalledGroup {
    /// Carrier code, node code or seller id.
    pub key: String,
    /// Its name.
    pub name: String,
    /// How many.
    pub count: i64,
}

/// Stalled parcels counted by carrier, by node and by seller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StalledSummary {
    /// All of them.
    pub total: i64,
    /// By carrier.
    pub by_carrier: Vec<StalledGroup>,
    /// By the node they were last scanned at.
    pub by_node: Vec<StalledGroup>,
    /// By seller.
    pub by_seller: Vec<StalledGroup>,
}

/// A note on a parcel.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ParcelNote {
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub body: String,
    /// When (UTC ms).
    pub at: i64,
}

impl Store {
    /// The watch's rules.
    pub async fn watch_rules(&self) -> Result<Vec<WatchRule>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT carrier, direction, hours FROM watch_rules ORDER BY carrier, direction",
            )
            .fetch_all(p)
            .await?
        }))
    }

    /// Sets how many hours a carrier's parcels going one way may go without news (the
    /// network's admins only: the rules hold for every county; `*` for any).
    pub async fn set_watch_rule(&self, actor: &Actor, rule: &WatchRule) -> Result<(), StoreError> {
        // The rules hold for every county: an operator's region is not the whole network.
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let mut errs = Vec::new();
        if rule.carrier != "*" && bazaar_domain::logistics::carrier(&rule.carrier).is_none() {
            errs.push(FieldError::new("carrier", Reason::UnknownChoice));
        }
        if rule.direction != "*"
            && !DIRECTIONS
                .iter()
                .any(|d| direction_str(*d) == rule.direction)
        {
            errs.push(FieldError::new("direction", Reason::UnknownChoice));
        }
        if !(1..=24 * 60).contains(&rule.hours) {
            errs.push(FieldError::new("hours", Reason::OutOfRange));
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO watch_rules (carrier, direction, hours) VALUES ($1, $2, $3) \
                 ON CONFLICT (carrier, direction) DO UPDATE SET hours = excluded.hours",
            )
            .bind(&rule.carrier)
            .bind(&rule.direction)
            .bind(rule.hours)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// Flags every open parcel whose last event became older than its limit since the last
    /// run (once per stall, in `stalled_flags`) and tells each seller how many of theirs were
    /// flagged. Each run reads only the slice of the watch index between the previous cutoff
    /// and this one per carrier and direction; the cutoffs are kept in the `watch_marks`
    /// setting, changed only if no other node ran meanwhile. Returns how many were flagged.
    pub async fn flag_stalled(&self, now: i64) -> Result<u64, StoreError> {
        let rules = self.watch_rules().await?;
        let old = self.setting("watch_marks").await?;
        let marks: HashMap<String, i64> = old
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default();
        let mut next = marks.clone();
        let mut slices = Vec::new();
        for carrier in CARRIERS.iter().map(|c| c.code) {
            for d in DIRECTIONS.map(direction_str) {
                let key = format!("{carrier}:{d}");
                let cutoff = now - hours_for(&rules, carrier, d) * HOUR_MS;
                let from = marks.get(&key).copied().unwrap_or(i64::MIN);
                if cutoff > from {
                    slices.push((carrier, d, from, cutoff));
                    next.insert(key, cutoff);
                }
            }
        }
        if slices.is_empty() {
            return Ok(0);
        }
        let next = serde_json::to_string(&next).unwrap_or_default();
        let sql = format!(
            "INSERT INTO stalled_flags (parcel_id, last_event_at, flagged_at, seller_id) \
             SELECT id, last_event_at, $1, seller_id FROM parcels WHERE carrier = $2 \
             AND direction = $3 AND last_event_at >= $4 AND last_event_at < $5 AND {OPEN} \
             ON CONFLICT DO NOTHING"
        );
        in_tx!(self, |c| {
            // Another node's run in between: this one steps aside.
            let claimed = match &old {
                Some(o) => sqlx::query(
                    "UPDATE settings SET value = $1 WHERE key = 'watch_marks' AND value = $2",
                )
                .bind(&next)
                .bind(o)
                .execute(&mut *c)
                .await?
                .rows_affected(),
                None => sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ('watch_marks', $1) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(&next)
                .execute(&mut *c)
                .await?
                .rows_affected(),
            };
            if claimed == 0 {
                return Ok(0);
            }
            let mut flagged = 0;
            for (carrier, d, from, cutoff) in &slices {
                flagged += sqlx::query(&sql)
                    .bind(now)
                    .bind(carrier)
                    .bind(d)
                    .bind(from)
                    .bind(cutoff)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
            }
            if flagged > 0 {
                // Told to the seller's first account, in its language.
                let sellers: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT f.seller_id, COUNT(*), (SELECT MIN(u.id) FROM users u \
                     WHERE u.seller_id = f.seller_id) FROM stalled_flags f \
                     WHERE f.flagged_at = $1 AND f.seller_id IS NOT NULL GROUP BY f.seller_id",
                )
                .bind(now)
                .fetch_all(&mut *c)
                .await?;
                for (_, n, user) in sellers {
                    let lang: Option<String> = match user {
                        Some(u) => sqlx::query_scalar("SELECT lang FROM users WHERE id = $1")
                            .bind(u)
                            .fetch_optional(&mut *c)
                            .await?
                            .flatten(),
                        None => None,
                    };
                    let message = Message::Stalled { parcels: n };
                    let body = self.messages().compose(lang.as_deref(), &message);
                    c.enqueue_notification(&NotificationRow {
                        kind: message.kind(),
                        user,
                        phone: None,
                        parcel: None,
                        lang: lang.as_deref(),
                        body: &body,
                        at: now,
                    })
                    .await?;
                }
            }
            Ok(flagged)
        })
    }

    /// The WHERE clause (after `WHERE`) and parameters of the parcels the watch would flag
    /// at `now` inside the actor's scope.
    async fn stalled_where(
        &self,
        actor: &Actor,
        now: i64,
        f: &StalledFilter,
    ) -> Result<(String, Vec<Param>), StoreError> {
        let rules = self.watch_rules().await?;
        let mut params = Vec::new();
        let mut p = |v: Param| {
            params.push(v);
            format!("${}", params.len())
        };
        // The loosest limit bounds the range read from the index; each parcel's own limit
        // refines it.
        // The limit of carriers and directions without a rule of their own (`*`); only the
        // others need a branch of their own (none, with the default rules).
        let base = now - hours_for(&rules, "", "") * HOUR_MS;
        let mut cases = String::new();
        let mut max_cutoff = base;
        for carrier in CARRIERS.iter().map(|c| c.code) {
            for d in DIRECTIONS.map(direction_str) {
                let cutoff = now - hours_for(&rules, carrier, d) * HOUR_MS;
                if cutoff == base {
                    continue;
                }
                max_cutoff = max_cutoff.max(cutoff);
                cases.push_str(&format!(
                    " WHEN p.carrier = {} AND p.direction = {} THEN {}",
                    p(Param::S(carrier.into())),
                    p(Param::S(d.into())),
                    p(Param::I(cutoff))
                ));
            }
        }
        let mut w = format!("p.{OPEN} AND p.last_event_at < {}", p(Param::I(max_cutoff)));
        if !cases.is_empty() {
            w.push_str(&format!(
                " AND p.last_event_at < CASE{cases} ELSE {} END",
                p(Param::I(base))
            ));
        }
        match actor.role {
            Role::Admin => {}
            Role::Operator => {
                let scope = scope_like(actor);
                let a = p(Param::S(scope));
                w.push_str(&format!(
                    " AND (rd.path LIKE {a} OR rdn.path LIKE {a} OR rn.path LIKE {a} \
                     OR rs.path LIKE {a})"
                ));
            }
            Role::Agent => {
                let a = p(Param::S(actor.node_code.clone().unwrap_or_default()));
                w.push_str(&format!(" AND (p.dest_node = {a} OR p.last_node = {a})"));
            }
            Role::Seller => {
                let a = p(Param::I(actor.seller_id.unwrap_or(-1)));
                w.push_str(&format!(" AND p.seller_id = {a}"));
            }
            _ => return Err(StoreError::Forbidden),
        }
        if let Some(c) = &f.carrier {
            w.push_str(&format!(" AND p.carrier = {}", p(Param::S(c.clone()))));
        }
        if let Some(n) = &f.node {
            w.push_str(&format!(" AND p.last_node = {}", p(Param::S(n.clone()))));
        }
        if let Some(sid) = f.seller_id {
            w.push_str(&format!(" AND p.seller_id = {}", p(Param::I(sid))));
        }
        if let Some((at, id)) = f.after {
            let a = p(Param::I(at));
            let b = p(Param::I(id));
            w.push_str(&format!(
                " AND (p.last_event_at > {a} OR (p.last_event_at = {a} AND p.id > {b}))"
            ));
        }
        Ok((w, params))
    }

    /// Parcels the watch would flag at `now`, in the actor's scope (operators their region,
    /// agents their point, sellers their own), oldest news first, one page at a time.
    pub async fn stalled(
        &self,
        actor: &Actor,
        now: i64,
        f: &StalledFilter,
    ) -> Result<Vec<StalledParcel>, StoreError> {
        let (w, mut params) = self.stalled_where(actor, now, f).await?;
        params.push(Param::I(f.limit.clamp(1, 1000)));
        let sql = format!(
            "SELECT p.id, p.carrier, p.waybill, p.direction, p.state, p.seller_id, \
             s.name AS seller_name, p.last_node, n.name AS last_node_name, p.last_place, \
             p.last_event_at, (SELECT f.flagged_at FROM stalled_flags f \
              WHERE f.parcel_id = p.id AND f.last_event_at = p.last_event_at) AS flagged_at, \
             (SELECT COUNT(*) FROM parcel_notes x WHERE x.parcel_id = p.id) AS notes, \
             (SELECT x.body FROM parcel_notes x WHERE x.parcel_id = p.id ORDER BY x.id DESC \
              LIMIT 1) AS last_note \
             FROM parcels p {JOINS} WHERE {w} ORDER BY p.last_event_at, p.id LIMIT ${}",
            params.len()
        );
        Ok(on_read!(self, |pool| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Stalled parcels in the actor's scope counted by carrier, node and seller.
    pub async fn stalled_summary(
        &self,
        actor: &Actor,
        now: i64,
    ) -> Result<StalledSummary, StoreError> {
        let (w, params) = self
            .stalled_where(actor, now, &StalledFilter::default())
            .await?;
        let group = |key: &str, name: &str| {
            format!(
                "SELECT CAST({key} AS TEXT), COALESCE(MAX({name}), ''), COUNT(*) FROM parcels p \
                 {JOINS} WHERE {w} GROUP BY {key} ORDER BY COUNT(*) DESC LIMIT 50"
            )
        };
        let carrier_sql = group("p.carrier", "p.carrier");
        let node_sql = group("COALESCE(p.last_node, '')", "n.name");
        let seller_sql = group("COALESCE(p.seller_id, 0)", "s.name");
        let rows = |v: Vec<(String, String, i64)>| {
            v.into_iter()
                .map(|(key, name, count)| StalledGroup { key, name, count })
                .collect::<Vec<_>>()
        };
        let (c, n, s): (Vec<(String, String, i64)>, Vec<_>, Vec<_>) = on_read!(self, |pool| {
            (
                bind_params!(sqlx::query_as(&carrier_sql), params)
                    .fetch_all(pool)
                    .await?,
                bind_params!(sqlx::query_as(&node_sql), params)
                    .fetch_all(pool)
                    .await?,
                bind_params!(sqlx::query_as(&seller_sql), params)
                    .fetch_all(pool)
                    .await?,
            )
        });
        let mut by_carrier = rows(c);
        for g in &mut by_carrier {
            if let Some(c) = bazaar_domain::logistics::carrier(&g.key) {
                g.name = c.name.to_string();
            }
        }
        let total = by_carrier.iter().map(|g| g.count).sum();
        Ok(StalledSummary {
            total,
            by_carrier,
            by_node: rows(n),
            by_seller: rows(s),
        })
    }

    /// Writes a note on a parcel (operators in whose region it is, admins).
    pub async fn annotate_parcel(
        &self,
        actor: &Actor,
        parcel_id: i64,
        body: &str,
    ) -> Result<Vec<ParcelNote>, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        let body = body.trim();
        if body.is_empty() {
            return Err(StoreError::field("body", Reason::Required));
        }
        if body.chars().count() > 500 {
            return Err(StoreError::field("body", Reason::TooLong));
        }
        self.parcel_in_scope(actor, parcel_id).await?;
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO parcel_notes (parcel_id, author_id, body, at) VALUES ($1, $2, $3, $4)",
            )
            .bind(parcel_id)
            .bind(actor.user_id)
            .bind(body)
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok(())
        })?;
        self.parcel_notes(actor, parcel_id).await
    }

    /// The notes on a parcel, oldest first.
    pub async fn parcel_notes(
        &self,
        actor: &Actor,
        parcel_id: i64,
    ) -> Result<Vec<ParcelNote>, StoreError> {
        self.parcel_in_scope(actor, parcel_id).await?;
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT COALESCE(u.display_name, u.username) AS author, x.body, x.at \
                 FROM parcel_notes x LEFT JOIN users u ON u.id = x.author_id \
                 WHERE x.parcel_id = $1 ORDER BY x.id",
            )
            .bind(parcel_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// Not found unless the parcel exists and is in the actor's scope (operators and admins;
    /// see [`Store::parcel_access`]).
    async fn parcel_in_scope(&self, actor: &Actor, parcel_id: i64) -> Result<(), StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        self.parcel_access(actor, parcel_id).await.map(|_| ())
    }
}

/// The joins a parcel's scope needs: the destination's region and point, the last node and
/// its region, the seller and its village.
pub(crate) const JOINS: &str = "LEFT JOIN sellers s ON s.id = p.seller_id \
    LEFT JOIN nodes dn ON dn.code = p.dest_node \
    LEFT JOIN regions rdn ON rdn.code = dn.region_code \
    LEFT JOIN nodes n ON n.code = p.last_node \
    LEFT JOIN regions rd ON rd.code = p.dest_region \
    LEFT JOIN regions rn ON rn.code = n.region_code \
    LEFT JOIN regions rs ON rs.code = s.village_code";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_rule_wins() {
        let r = |c: &str, d: &str, h| WatchRule {
            carrier: c.into(),
            direction: d.into(),
            hours: h,
        };
        let rules = [
            r("*", "*", 48),
            r("ems", "*", 72),
            r("*", "upstream", 24),
            r("ems", "upstream", 96),
        ];
        assert_eq!(hours_for(&rules, "shunfeng", "downstream"), 48);
        assert_eq!(hours_for(&rules, "ems", "downstream"), 72);
        assert_eq!(hours_for(&rules, "shunfeng", "upstream"), 24);
        assert_eq!(hours_for(&rules, "ems", "upstream"), 96);
        assert_eq!(hours_for(&[], "ems", "upstream"), 48);
    }
}
