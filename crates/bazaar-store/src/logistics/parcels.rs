//! Parcels and what happens to them: registered with a waybill checked against the carrier's
//! format, scanned at every handover (each scan once, by its client-generated id, so a phone
//! that resends its queue after the network comes back changes nothing), and placed in time:
//! the parcel's state is that of its latest event by event time, whatever order they arrive in.

use crate::logistics::pickup::{PickupWrites, Shelving};
use crate::network::Node;
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::logistics::{
    Direction, ParcelState, ScanKind, check_waybill, normalise_waybill,
};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::text::mask_phone;
use bazaar_domain::time::{EARLIEST_MS, LATEST_MS, now_ms};
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;
use std::collections::HashMap;

/// A parcel to register.
#[derive(Debug, Clone)]
pub struct NewParcel {
    /// Carrier code (`shunfeng`, `ems`, …).
    pub carrier: String,
    /// Waybill number as printed.
    pub waybill: String,
    /// Which way it moves.
    pub direction: Direction,
    /// Weight, g.
    pub weight_g: i64,
    /// Volume, cm³.
    pub volume_cm3: i64,
    /// Needs the cold chain.
    pub cold_chain: bool,
    /// Sender.
    pub sender_name: Option<String>,
    /// Sender's phone.
    pub sender_phone: Option<String>,
    /// Recipient.
    pub recipient_name: String,
    /// Recipient's phone (masked wherever the full number is not needed).
    pub recipient_phone: String,
    /// Destination region.
    pub dest_region: Option<String>,
    /// Destination service point.
    pub dest_node: Option<String>,
    /// The order it belongs to.
    pub order_id: Option<i64>,
}

/// A parcel.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Parcel {
    /// Id.
    pub id: i64,
    /// Carrier code.
    pub carrier: String,
    /// Waybill number (normalised).
    pub waybill: String,
    /// upstream, downstream or same_city.
    pub direction: String,
    /// Weight, g.
    pub weight_g: i64,
    /// Volume, cm³.
    pub volume_cm3: i64,
    /// Cold chain.
    pub cold_chain: bool,
    /// Recipient.
    pub recipient_name: String,
    /// Recipient's phone (masked unless the caller needs it).
    pub recipient_phone: String,
    /// Destination region.
    pub dest_region: Option<String>,
    /// Destination service point.
    pub dest_node: Option<String>,
    /// Order.
    pub order_id: Option<i64>,
    /// Canonical state.
    pub state: String,
    /// Time of the latest event (UTC ms).
    pub last_event_at: Option<i64>,
    /// Registered (UTC ms).
    pub created_at: i64,
}

/// One event of a parcel's timeline.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ParcelEvent {
    /// scan or carrier.
    pub source: String,
    /// Our scan kind, or the carrier's raw state code.
    pub code: String,
    /// Canonical state (none for a carrier code we do not know).
    pub state: Option<String>,
    /// Where (our node).
    pub node_code: Option<String>,
    /// Where, as the carrier wrote it.
    pub place: Option<String>,
    /// The carrier's text.
    pub note: Option<String>,
    /// When it happened (UTC ms).
    pub at: i64,
}

/// What a caller may see of a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everything, the recipient's whole phone number included.
    Full,
    /// Everything but the recipient's phone, which is masked.
    Masked,
}

/// A parcel with its timeline, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tracked {
    /// The parcel.
    #[serde(flatten)]
    pub parcel: Parcel,
    /// Every event by time.
    pub events: Vec<ParcelEvent>,
}

/// A scan as a phone sends it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ScanInput {
    /// Generated on the phone (at most 64 characters); the same id again is the same scan.
    /// Required in a batch; a single scan without one gets a fresh id (and is not protected
    /// against resending).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub client_id: String,
    /// Waybill number, or the code of a sack or cage: one scan of a sack moves every parcel
    /// in it. A waybill not known here is `unknown_reference` (422).
    pub waybill: String,
    /// Carrier code, when two carriers could share the number.
    #[serde(default)]
    pub carrier: Option<String>,
    /// collected_at_village, received_at_township, arrived_at_county, sorted_to_route,
    /// loaded_on_vehicle, delivered_to_point, put_in_locker, picked_up_by_recipient,
    /// handed_to_trunk_carrier.
    #[schema(
        pattern = "^(collected_at_village|received_at_township|arrived_at_county|sorted_to_route|loaded_on_vehicle|delivered_to_point|put_in_locker|picked_up_by_recipient|handed_to_trunk_carrier)$"
    )]
    pub kind: String,
    /// Where (a node code, also accepted as `node_id`); the agent's own service point when
    /// omitted.
    #[serde(default, alias = "node_id")]
    pub node_code: Option<String>,
    /// Put the parcel into this sack or cage (a new code opens a sack at the node):
    /// `SACK-` or `CAGE-` and letters, digits or dashes, 6 to 35 characters.
    #[serde(default)]
    #[schema(pattern = "^\\s*([Ss][Aa][Cc][Kk]|[Cc][Aa][Gg][Ee])-[0-9A-Za-z-]{1,30}\\s*$|^\\s*$")]
    pub sack: Option<String>,
    /// Who signed for it (with `picked_up_by_recipient`).
    #[serde(default)]
    pub signature: Option<String>,
    /// A parcel the centre has no manifest for is registered by its arrival scan when these
    /// are given (with `carrier`): the recipient…
    #[serde(default)]
    pub recipient_name: Option<String>,
    /// …their phone…
    #[serde(default)]
    pub recipient_phone: Option<String>,
    /// …and the service point it goes to (also `destination_node_id`).
    #[serde(default, alias = "destination_node_id")]
    pub dest_node: Option<String>,
    /// When it was scanned (UTC ms, from the phone's clock); now when omitted. At most five
    /// minutes ahead of now and a month back (`out_of_window`, 422).
    #[serde(default)]
    #[schema(minimum = 946_684_800_000_i64, maximum = 4_102_444_800_000_i64)]
    pub at: Option<i64>,
}

/// What became of one scan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanResult {
    /// The scan's client id.
    pub client_id: String,
    /// recorded, duplicate (already recorded: nothing changed) or refused.
    pub result: &'static str,
    /// Why it was refused: the field and the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<FieldError>,
    /// The parcel's state after the scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The parcel's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parcel_id: Option<i64>,
    /// How many parcels the scan moved (more than one for a sack).
    pub parcels: usize,
    /// The pickup code it got, when the scan put it on a village point's shelf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
    /// Its shelf slot there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shelf_slot: Option<String>,
}

/// A scanned parcel: id, direction, destination point, destination region, pickup code.
type ScanRow = (i64, String, Option<String>, Option<String>, Option<String>);

/// What one scan did (inside the store).
#[derive(Debug, Clone, Default)]
struct ScanDone {
    recorded: bool,
    state: String,
    parcel_id: Option<i64>,
    parcels: usize,
    pickup_code: Option<String>,
    shelf_slot: Option<String>,
    delivered_orders: Vec<i64>,
    /// The (first) parcel scanned.
    first: Option<i64>,
}

/// A parcel as [`ParcelWrites::insert_parcel`] writes it: the one way a parcel row is made
/// (registered by hand or by API, announced in a carrier's manifest, created when an order
/// is paid or handed to a carrier).
pub(crate) struct ParcelRow<'a> {
    /// Carrier code.
    pub carrier: &'a str,
    /// Waybill number.
    pub waybill: &'a str,
    /// Which way it travels.
    pub direction: Direction,
    /// Weight (g).
    pub weight_g: i64,
    /// Volume (cm³).
    pub volume_cm3: i64,
    /// Needs the cold chain.
    pub cold_chain: bool,
    /// Sender's name.
    pub sender_name: Option<&'a str>,
    /// Sender's phone.
    pub sender_phone: Option<&'a str>,
    /// Recipient's name.
    pub recipient_name: &'a str,
    /// Recipient's phone.
    pub recipient_phone: &'a str,
    /// Destination region.
    pub dest_region: Option<&'a str>,
    /// Destination service point.
    pub dest_node: Option<&'a str>,
    /// The order it carries.
    pub order_id: Option<i64>,
    /// The order's part (one seller's lines) it carries.
    pub part_id: Option<i64>,
    /// The seller who ships it.
    pub seller_id: Option<i64>,
    /// Its first state.
    pub state: ParcelState,
    /// Who registered it (none: the system, when an order is paid).
    pub created_by: Option<i64>,
    /// When (UTC ms): created, updated and last news.
    pub at: i64,
}

/// An event of a parcel's history as [`ParcelWrites::insert_parcel_event`] writes it, for
/// one event at a time (the batched ingest of many writes its own multi-row statement).
pub(crate) struct ParcelEventRow<'a> {
    /// The parcel.
    pub parcel: i64,
    /// `scan` or `carrier`.
    pub source: &'a str,
    /// The scan kind or the carrier's status code.
    pub code: &'a str,
    /// The state it puts the parcel in, when it means one.
    pub state: Option<&'a str>,
    /// Where (a carrier's place name).
    pub place: Option<&'a str>,
    /// The service point where it was scanned.
    pub node: Option<&'a str>,
    /// Who scanned.
    pub actor: Option<i64>,
    /// The sender's own id of the scan (a resent scan is written once).
    pub client_id: Option<&'a str>,
    /// A note (a signature, a carrier's text).
    pub note: Option<&'a str>,
    /// When it happened (UTC ms).
    pub at: i64,
    /// When it reached us (UTC ms).
    pub received_at: i64,
}

/// What `settle` reads of each event: the state it means, when, the point, the place.
type EventTrace = (Option<String>, i64, Option<String>, Option<String>);

/// The writes of parcels and their histories, on a transaction's connection of either
/// backend.
pub(crate) trait ParcelWrites {
    /// Writes a new parcel; its id. A waybill already registered for the carrier is a unique
    /// violation.
    async fn insert_parcel(&mut self, p: &ParcelRow<'_>) -> Result<i64, StoreError>;

    /// Writes one event of a parcel's history; false when it was written before (the same
    /// client id, or the same carrier event).
    async fn insert_parcel_event(&mut self, e: &ParcelEventRow<'_>) -> Result<bool, StoreError>;

    /// Locks parcels' rows, in id order, before anything refers to them in a transaction
    /// (see `write_events`): the one lock order of every writer of parcel events.
    async fn lock_parcels(&mut self, ids: Vec<i64>, now: i64) -> Result<(), StoreError>;

    /// Replays a parcel's events in time order into its state (see
    /// [`ParcelState::after`]) and sets its last event time and where it was last seen;
    /// (state before, state after).
    async fn settle(&mut self, id: i64, now: i64)
    -> Result<(ParcelState, ParcelState), StoreError>;
}

crate::both_dialects! {
    impl ParcelWrites {
        async fn insert_parcel(&mut self, p: &ParcelRow<'_>) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar(
                "INSERT INTO parcels (carrier, waybill, direction, weight_g, volume_cm3, cold_chain, \
                 sender_name, sender_phone, recipient_name, recipient_phone, dest_region, dest_node, \
                 order_id, part_id, seller_id, state, created_by, created_at, updated_at, \
                 last_event_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14, $15, $16, $17, $18, $18, $18) RETURNING id",
            )
            .bind(p.carrier)
            .bind(p.waybill)
            .bind(p.direction.as_str())
            .bind(p.weight_g)
            .bind(p.volume_cm3)
            .bind(p.cold_chain)
            .bind(p.sender_name)
            .bind(p.sender_phone)
            .bind(p.recipient_name)
            .bind(p.recipient_phone)
            .bind(p.dest_region)
            .bind(p.dest_node)
            .bind(p.order_id)
            .bind(p.part_id)
            .bind(p.seller_id)
            .bind(p.state.as_str())
            .bind(p.created_by)
            .bind(p.at)
            .fetch_one(&mut *self)
            .await?)
        }

        async fn insert_parcel_event(&mut self, e: &ParcelEventRow<'_>) -> Result<bool, StoreError> {
            let n = sqlx::query(
                "INSERT INTO parcel_events (parcel_id, source, code, state, place, node_code, \
                 actor_id, client_id, note, at, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
            )
            .bind(e.parcel)
            .bind(e.source)
            .bind(e.code)
            .bind(e.state)
            .bind(e.place)
            .bind(e.node)
            .bind(e.actor)
            .bind(e.client_id)
            .bind(e.note)
            .bind(e.at)
            .bind(e.received_at)
            .execute(&mut *self)
            .await?
            .rows_affected();
            Ok(n > 0)
        }

        async fn lock_parcels(&mut self, ids: Vec<i64>, now: i64) -> Result<(), StoreError> {
            let mut ids: Vec<i64> = ids.into_iter().filter(|id| *id > 0).collect();
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                sqlx::query("UPDATE parcels SET updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self)
                    .await?;
            }
            Ok(())
        }

        async fn settle(
            &mut self,
            id: i64,
            now: i64,
        ) -> Result<(ParcelState, ParcelState), StoreError> {
            // The row first: a concurrent scan of the same parcel waits, then sees this one's
            // event (PostgreSQL; SQLite has one writer anyway).
            sqlx::query("UPDATE parcels SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *self)
                .await?;
            let evs: Vec<EventTrace> = sqlx::query_as(
                "SELECT state, at, node_code, place FROM parcel_events WHERE parcel_id = $1 \
                 ORDER BY at, id",
            )
            .bind(id)
            .fetch_all(&mut *self)
            .await?;
            let (before, created_at, last_at): (String, i64, Option<i64>) =
                sqlx::query_as("SELECT state, created_at, last_event_at FROM parcels WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *self)
                    .await?;
            let after = ParcelState::replay(
                evs.iter()
                    .filter_map(|e| e.0.as_deref().and_then(ParcelState::from_db)),
            );
            // The time of the latest news never goes back (the watch reads it).
            let newest = evs
                .iter()
                .map(|e| e.1)
                .max()
                .unwrap_or(created_at)
                .max(last_at.unwrap_or(i64::MIN));
            let node = evs.iter().rev().find_map(|e| e.2.clone());
            let place = evs.iter().rev().find_map(|e| e.3.clone());
            sqlx::query(
                "UPDATE parcels SET state = $1, last_event_at = $2, last_node = $3, last_place = $4, \
                 pickup_code = CASE WHEN $1 = 'in_locker_or_station' THEN pickup_code ELSE NULL END, \
                 updated_at = $5 WHERE id = $6",
            )
            .bind(after.as_str())
            .bind(newest)
            .bind(node)
            .bind(place)
            .bind(now)
            .bind(id)
            .execute(&mut *self)
            .await?;
            Ok((
                ParcelState::from_db(&before).unwrap_or(ParcelState::Ordered),
                after,
            ))
        }
    }
}

impl NewParcel {
    /// The row of this parcel, registered by `by` at `at` under `waybill` (normalised).
    pub(crate) fn row<'a>(&'a self, waybill: &'a str, by: i64, at: i64) -> ParcelRow<'a> {
        ParcelRow {
            carrier: &self.carrier,
            waybill,
            direction: self.direction,
            weight_g: self.weight_g,
            volume_cm3: self.volume_cm3,
            cold_chain: self.cold_chain,
            sender_name: self.sender_name.as_deref(),
            sender_phone: self.sender_phone.as_deref(),
            recipient_name: self.recipient_name.trim(),
            recipient_phone: &self.recipient_phone,
            dest_region: self.dest_region.as_deref(),
            dest_node: self.dest_node.as_deref(),
            order_id: self.order_id,
            part_id: None,
            seller_id: None,
            state: ParcelState::Ordered,
            created_by: Some(by),
            at,
        }
    }
}

/// Scans one request may carry: a phone's queue, or a sorting line's batch at a centre.
pub const MAX_SCANS: usize = 5000;

const PARCEL_COLS: &str = "id, carrier, waybill, direction, weight_g, volume_cm3, cold_chain, \
    recipient_name, recipient_phone, dest_region, dest_node, order_id, state, last_event_at, \
    created_at";

impl Store {
    /// Registers a parcel (operators, agents, drivers, admins): the waybill must fit its
    /// carrier's format and be new for that carrier.
    pub async fn create_parcel(&self, actor: &Actor, p: &NewParcel) -> Result<Tracked, StoreError> {
        if !actor.role.handles_parcels() {
            return Err(StoreError::Forbidden);
        }
        let waybill = self.check_new_parcel(p).await?;
        // Operators and drivers register parcels for their own region only.
        if matches!(actor.role, Role::Operator | Role::Driver) {
            if let Some(n) = &p.dest_node {
                let (node, path) = self.node_with_path(n).await?;
                if !actor.can_handle_at(&node.code, &path) {
                    return Err(StoreError::field("dest_node", Reason::OutOfScope));
                }
            }
            if let Some(r) = &p.dest_region
                && !actor.can_manage_network(&self.region(r).await?.path)
                && actor.role == Role::Operator
            {
                return Err(StoreError::field("dest_region", Reason::OutOfScope));
            }
        }
        let now = now_ms();
        let res = in_tx!(self, |c| {
            c.insert_parcel(&p.row(&waybill, actor.user_id, now)).await
        });
        let id = match res {
            Ok(id) => id,
            Err(StoreError::Db(e)) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::field("waybill", Reason::Duplicate));
            }
            Err(e) => return Err(e),
        };
        self.tracked(actor, id).await
    }

    /// Checks a parcel to register, every bad field named; its normalised waybill.
    async fn check_new_parcel(&self, p: &NewParcel) -> Result<String, StoreError> {
        let mut errs = Vec::new();
        let waybill = check_waybill(&p.carrier, &p.waybill)
            .map_err(|e| errs.push(e))
            .ok();
        if p.recipient_name.trim().is_empty() {
            errs.push(FieldError::new("recipient_name", Reason::Required));
        } else if p.recipient_name.chars().count() > 40 {
            errs.push(FieldError::new("recipient_name", Reason::TooLong));
        } else if bazaar_domain::error::optional_text("recipient_name", &p.recipient_name, 40)
            .is_err()
        {
            errs.push(FieldError::new("recipient_name", Reason::InvalidFormat));
        }
        if let Some(n) = &p.sender_name
            && let Err(e) = bazaar_domain::error::optional_text("sender_name", n, 40)
        {
            errs.push(e);
        }
        let phone_ok = (7..=15).contains(&p.recipient_phone.len())
            && p.recipient_phone
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-');
        if !phone_ok {
            errs.push(FieldError::new("recipient_phone", Reason::InvalidFormat));
        }
        if !(0..=1_000_000).contains(&p.weight_g) {
            errs.push(FieldError::new("weight_g", Reason::OutOfRange));
        }
        if !(0..=10_000_000).contains(&p.volume_cm3) {
            errs.push(FieldError::new("volume_cm3", Reason::OutOfRange));
        }
        if let Some(n) = &p.dest_node
            && self.node(n).await.is_err()
        {
            errs.push(FieldError::new("dest_node", Reason::UnknownReference));
        }
        if let Some(r) = &p.dest_region
            && self.region(r).await.is_err()
        {
            errs.push(FieldError::new("dest_region", Reason::UnknownReference));
        }
        match waybill.filter(|_| errs.is_empty()) {
            Some(w) => Ok(w),
            None => Err(StoreError::Invalid(errs)),
        }
    }

    /// The one scope check in front of every read and write of a parcel: whether `actor`
    /// may see it, and whether with the recipient's full phone. Not found (never forbidden:
    /// that would confirm a waybill exists) unless the caller is
    /// - an admin (full phone);
    /// - an operator whose region holds its destination, the node it was last seen at or its
    ///   seller's village, or who registered it (full phone);
    /// - a driver of such a region, or who registered it;
    /// - the agent of its destination point (full phone), of the point where it waits or was
    ///   last seen or scanned, or who registered it;
    /// - its seller;
    /// - its order's buyer, or whoever placed the order (a station agent for a villager).
    pub async fn parcel_access(&self, actor: &Actor, id: i64) -> Result<Access, StoreError> {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let row: Option<Row> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT dest_node, last_node, pickup_node, seller_id, order_id, created_by                  FROM parcels WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        let (dest, last, pickup, seller, order, created_by) = row.ok_or(StoreError::NotFound)?;
        let own = created_by.is_some() && created_by == Some(actor.user_id);
        let region = || async {
            Ok::<bool, StoreError>(self.parcels_in_scope(actor, &[id]).await?.contains(&id))
        };
        let access = match actor.role {
            Role::Admin => Some(Access::Full),
            Role::Operator => (own || region().await?).then_some(Access::Full),
            Role::Driver => (own || region().await?).then_some(Access::Masked),
            Role::Agent => match actor.node_code.as_deref() {
                Some(n) if dest.as_deref() == Some(n) => Some(Access::Full),
                Some(n) if own || last.as_deref() == Some(n) || pickup.as_deref() == Some(n) => {
                    Some(Access::Masked)
                }
                Some(n) => {
                    let scanned: i64 = on_read!(self, |p| {
                        sqlx::query_scalar(
                            "SELECT COUNT(*) FROM parcel_events WHERE parcel_id = $1 \
                             AND node_code = $2",
                        )
                        .bind(id)
                        .bind(n)
                        .fetch_one(p)
                        .await?
                    });
                    (scanned > 0).then_some(Access::Masked)
                }
                None => None,
            },
            Role::Seller if seller.is_some() && seller == actor.seller_id => Some(Access::Masked),
            _ => None,
        };
        let access = match (access, order) {
            (Some(a), _) => Some(a),
            // The order's own buyer or placer (staff are judged above, by place and region).
            (None, Some(o)) => {
                let row = self.order_unchecked(o).await?.row;
                (row.placed_by == actor.user_id || row.buyer_id == Some(actor.user_id))
                    .then_some(Access::Masked)
            }
            (None, None) => None,
        };
        access.ok_or(StoreError::NotFound)
    }

    /// The parcels among `ids` an operator or driver may scan: those already in its region
    /// (see [`Store::parcels_in_scope`]); a scan must not be what brings another county's
    /// parcel into its scope. `None`: no such limit for this role (admins; agents are held to
    /// their point and the place rules).
    async fn scannable(
        &self,
        actor: &Actor,
        ids: &[i64],
    ) -> Result<Option<std::collections::HashSet<i64>>, StoreError> {
        if !matches!(actor.role, Role::Operator | Role::Driver) {
            return Ok(None);
        }
        Ok(Some(self.parcels_in_scope(actor, ids).await?))
    }

    /// A parcel and its timeline, by id, for whoever may see it (see
    /// [`Store::parcel_access`]); the recipient's phone masked unless that says otherwise.
    pub async fn tracked(&self, actor: &Actor, id: i64) -> Result<Tracked, StoreError> {
        let access = self.parcel_access(actor, id).await?;
        let sql = format!("SELECT {PARCEL_COLS} FROM parcels WHERE id = $1");
        let parcel: Option<Parcel> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        let mut parcel = parcel.ok_or(StoreError::NotFound)?;
        if access == Access::Masked {
            parcel.recipient_phone = mask_phone(&parcel.recipient_phone);
        }
        let events: Vec<ParcelEvent> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT source, code, state, node_code, place, note, at FROM parcel_events \
                 WHERE parcel_id = $1 ORDER BY at, id",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        });
        Ok(Tracked { parcel, events })
    }

    /// The parcel with this waybill (and carrier, when two carriers share the number).
    pub async fn parcel_id(&self, waybill: &str, carrier: Option<&str>) -> Result<i64, StoreError> {
        let w = normalise_waybill(waybill);
        let rows: Vec<(i64, String)> = on_read!(self, |p| {
            sqlx::query_as("SELECT id, carrier FROM parcels WHERE waybill = $1 ORDER BY id")
                .bind(&w)
                .fetch_all(p)
                .await?
        });
        let rows: Vec<(i64, String)> = rows
            .into_iter()
            .filter(|(_, c)| carrier.is_none_or(|x| x == c))
            .collect();
        match rows.as_slice() {
            [] => Err(StoreError::field("waybill", Reason::UnknownReference)),
            [(id, _)] => Ok(*id),
            _ => Err(StoreError::field("carrier", Reason::Needed)),
        }
    }

    /// Records scans from a phone, each on its own: a client id already recorded is a
    /// duplicate that changes nothing; a bad scan is refused with its field; the others are
    /// recorded and move their parcel's state when they are its latest event by time.
    pub async fn record_scans(
        &self,
        actor: &Actor,
        scans: &[ScanInput],
    ) -> Result<Vec<ScanResult>, StoreError> {
        if !actor.role.handles_parcels() {
            return Err(StoreError::Forbidden);
        }
        if scans.len() > MAX_SCANS {
            return Err(StoreError::field("scans", Reason::OutOfRange));
        }
        let now = now_ms();
        // Plain scans at a centre (arrivals, sorting, loading, trunk handovers) go in bulk:
        // one transaction for all of them; the others one by one, with their checks and
        // effects (points, sacks, pickup codes, registration from a label).
        let mut nodes: HashMap<String, Option<Node>> = HashMap::new();
        let mut bulk: Vec<(usize, ScanKind, String, i64)> = Vec::new();
        let mut out: Vec<Option<ScanResult>> = vec![None; scans.len()];
        for (i, s) in scans.iter().enumerate() {
            if let Some((kind, node, at)) = self.bulk_scan(actor, s, now, &mut nodes).await? {
                bulk.push((i, kind, node, at));
                continue;
            }
            out[i] = Some(self.one_scan(actor, s, now).await?);
        }
        if !bulk.is_empty() {
            self.record_bulk_scans(actor, scans, &bulk, &mut out, now)
                .await?;
        }
        Ok(out
            .into_iter()
            .zip(scans)
            .map(|(r, s)| {
                r.unwrap_or_else(|| refused(s, FieldError::new("scans", Reason::Inconsistent)))
            })
            .collect())
    }

    /// A scan that can go in bulk: valid, at a centre the actor may scan at, of a kind with
    /// no effect beyond the parcel's state, not a sack's, not registering a parcel.
    async fn bulk_scan(
        &self,
        actor: &Actor,
        s: &ScanInput,
        now: i64,
        nodes: &mut HashMap<String, Option<Node>>,
    ) -> Result<Option<(ScanKind, String, i64)>, StoreError> {
        let cid = s.client_id.trim();
        let Ok(kind) = ScanKind::parse("kind", &s.kind) else {
            return Ok(None);
        };
        let at = s.at.unwrap_or(now);
        let plain = !cid.is_empty()
            && cid.len() <= 64
            && (now - 30 * 24 * 3600 * 1000..=now + 5 * 60 * 1000).contains(&at)
            && !matches!(
                kind,
                ScanKind::DeliveredToPoint | ScanKind::PutInLocker | ScanKind::PickedUpByRecipient
            )
            && s.sack.is_none()
            && s.recipient_name.is_none()
            && check_sack_code(&s.waybill).is_err();
        let Some(code) = s.node_code.clone().or_else(|| actor.node_code.clone()) else {
            return Ok(None);
        };
        if !plain {
            return Ok(None);
        }
        if !nodes.contains_key(&code) {
            let found = match self.node_with_path(&code).await {
                Ok((n, path)) => {
                    let central = matches!(
                        n.kind.as_str(),
                        "distribution_centre"
                            | "county_centre"
                            | "prefecture_centre"
                            | "carrier_outlet"
                    );
                    (central && actor.can_handle_at(&n.code, &path)).then_some(n)
                }
                Err(_) => None,
            };
            nodes.insert(code.clone(), found);
        }
        Ok(nodes
            .get(&code)
            .and_then(Option::as_ref)
            .map(|n| (kind, n.code.clone(), at)))
    }

    /// Records plain scans at centres in one transaction (see [`Store::record_scans`]).
    async fn record_bulk_scans(
        &self,
        actor: &Actor,
        scans: &[ScanInput],
        bulk: &[(usize, ScanKind, String, i64)],
        out: &mut [Option<ScanResult>],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut waybills: Vec<String> = bulk
            .iter()
            .map(|b| normalise_waybill(&scans[b.0].waybill))
            .collect();
        waybills.sort_unstable();
        waybills.dedup();
        let known = self.known_parcels(&waybills).await?;
        let mut by_waybill: HashMap<&str, Vec<&crate::logistics::ingest::Known>> = HashMap::new();
        for k in known.values() {
            by_waybill.entry(k.waybill.as_str()).or_default().push(k);
        }
        let by_id_before: HashMap<i64, String> =
            known.values().map(|k| (k.id, k.state.clone())).collect();
        let allowed = self
            .scannable(actor, &by_id_before.keys().copied().collect::<Vec<_>>())
            .await?;
        let mut rows = Vec::with_capacity(bulk.len());
        let mut which: Vec<(usize, i64)> = Vec::with_capacity(bulk.len());
        for (i, kind, node, at) in bulk {
            let s = &scans[*i];
            let w = normalise_waybill(&s.waybill);
            let found: Vec<&&crate::logistics::ingest::Known> = by_waybill
                .get(w.as_str())
                .map(|v| {
                    v.iter()
                        .filter(|k| s.carrier.as_deref().is_none_or(|c| c == k.carrier))
                        .collect()
                })
                .unwrap_or_default();
            let k = match found.as_slice() {
                [k] => *k,
                [] => {
                    out[*i] = Some(refused(
                        s,
                        FieldError::new("waybill", Reason::UnknownReference),
                    ));
                    continue;
                }
                _ => {
                    out[*i] = Some(refused(s, FieldError::new("carrier", Reason::Needed)));
                    continue;
                }
            };
            if allowed.as_ref().is_some_and(|a| !a.contains(&k.id)) {
                out[*i] = Some(refused(
                    s,
                    FieldError::new("waybill", Reason::UnknownReference),
                ));
                continue;
            }
            let direction = Direction::from_db(&k.direction);
            which.push((*i, k.id));
            rows.push(crate::logistics::ingest::Row {
                parcel: k.id,
                code: kind.as_str().to_string(),
                state: Some(kind.state(direction).as_str()),
                place: None,
                note: None,
                at: *at,
                node: Some(node.clone()),
                actor: Some(actor.user_id),
                client_id: Some(s.client_id.trim().to_string()),
            });
        }
        let (inserted, after, delivered) = self.write_events("scan", &rows, now).await?;
        for o in delivered {
            self.deliver_by_parcels(o, Some(actor.user_id)).await?;
        }
        let recorded: std::collections::HashSet<&str> =
            inserted.iter().filter_map(|e| e.5.as_deref()).collect();
        // The state after: as written, or as it was for a scan sent before.
        let state: HashMap<i64, &str> = by_id_before
            .iter()
            .map(|(id, st)| {
                (
                    *id,
                    after.get(id).map(String::as_str).unwrap_or(st.as_str()),
                )
            })
            .collect();
        for (i, id) in which {
            let s = &scans[i];
            out[i] = Some(ScanResult {
                client_id: s.client_id.clone(),
                result: if recorded.contains(s.client_id.trim()) {
                    "recorded"
                } else {
                    "duplicate"
                },
                error: None,
                state: state.get(&id).map(|x| x.to_string()),
                parcel_id: Some(id),
                parcels: 1,
                pickup_code: None,
                shelf_slot: None,
            });
        }
        Ok(())
    }

    /// One scan on its own, as its result.
    async fn one_scan(
        &self,
        actor: &Actor,
        s: &ScanInput,
        now: i64,
    ) -> Result<ScanResult, StoreError> {
        let r = self.record_scan(actor, s, now).await;
        Ok({
            match r {
                Ok(d) => ScanResult {
                    client_id: s.client_id.clone(),
                    result: if d.recorded { "recorded" } else { "duplicate" },
                    error: None,
                    state: Some(d.state),
                    parcel_id: d.parcel_id,
                    parcels: d.parcels,
                    pickup_code: d.pickup_code,
                    shelf_slot: d.shelf_slot,
                },
                Err(StoreError::Invalid(mut e)) if !e.is_empty() => ScanResult {
                    client_id: s.client_id.clone(),
                    result: "refused",
                    error: Some(e.remove(0)),
                    state: None,
                    parcel_id: None,
                    parcels: 0,
                    pickup_code: None,
                    shelf_slot: None,
                },
                Err(StoreError::Forbidden) => ScanResult {
                    client_id: s.client_id.clone(),
                    result: "refused",
                    error: Some(FieldError::new("node_code", Reason::OutOfScope)),
                    state: None,
                    parcel_id: None,
                    parcels: 0,
                    pickup_code: None,
                    shelf_slot: None,
                },
                Err(e) => return Err(e),
            }
        })
    }

    /// One scan of a parcel or of a sack of parcels.
    async fn record_scan(
        &self,
        actor: &Actor,
        s: &ScanInput,
        now: i64,
    ) -> Result<ScanDone, StoreError> {
        let client_id = s.client_id.trim();
        if client_id.is_empty() {
            return Err(StoreError::field("client_id", Reason::Required));
        }
        if client_id.chars().count() > 64 {
            return Err(StoreError::field("client_id", Reason::TooLong));
        }
        let kind = ScanKind::parse("kind", &s.kind).map_err(|e| StoreError::Invalid(vec![e]))?;
        let at = s.at.unwrap_or(now);
        // A phone's clock may be a little ahead; a month-old queue is too old to trust.
        if !(EARLIEST_MS..=LATEST_MS).contains(&at) {
            return Err(StoreError::field("at", Reason::OutOfRange));
        }
        if at > now + 5 * 60 * 1000 || at < now - 30 * 24 * 3600 * 1000 {
            return Err(StoreError::field("at", Reason::OutOfWindow));
        }
        let Some(node_code) = s.node_code.clone().or_else(|| actor.node_code.clone()) else {
            return Err(StoreError::field("node_code", Reason::Needed));
        };
        let (node, node_path) = self
            .node_with_path(&node_code)
            .await
            .map_err(|_| StoreError::field("node_code", Reason::UnknownReference))?;
        if !actor.can_handle_at(&node.code, &node_path) {
            return Err(StoreError::Forbidden);
        }
        let sack = match s.sack.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
            Some(x) => Some(check_sack_code(x)?),
            None => None,
        };
        // A sack's code moves everything in it; otherwise the waybill names one parcel.
        let sack_code = check_sack_code(&s.waybill).ok();
        // A station agent learns nothing of parcels that are not theirs: a waybill bound for
        // another place answers as one that does not exist here (`waybill`, `wrong_place`).
        let agent = actor.role == Role::Agent;
        let elsewhere = |field: &'static str| {
            StoreError::field(if agent { "waybill" } else { field }, Reason::WrongPlace)
        };
        // A parcel registered by this scan is inserted in the scan's own transaction (its id
        // is a placeholder until then), so a refused scan leaves nothing behind.
        let mut register: Option<(NewParcel, String)> = None;
        let ids: Vec<i64> = match &sack_code {
            Some(code) => {
                let ids: Vec<i64> = on_read!(self, |p| {
                    sqlx::query_scalar("SELECT id FROM parcels WHERE sack = $1 ORDER BY id")
                        .bind(code)
                        .fetch_all(p)
                        .await?
                });
                if ids.is_empty() {
                    return Err(if agent {
                        elsewhere("waybill")
                    } else {
                        StoreError::field("waybill", Reason::UnknownReference)
                    });
                }
                ids
            }
            None => match self.parcel_id(&s.waybill, s.carrier.as_deref()).await {
                Ok(id) => vec![id],
                // Arrived without a manifest, at the centre (the label's carrier, recipient
                // and destination given) or dropped at a village point by a carrier's own van
                // (delivered there: the point is its destination): registered by this scan.
                Err(StoreError::Invalid(e))
                    if e.first().is_some_and(|f| f.field == "waybill")
                        && (matches!(
                            node.kind.as_str(),
                            "distribution_centre" | "county_centre"
                        ) || (node.kind == "village_point"
                            && kind == ScanKind::DeliveredToPoint))
                        && s.recipient_name.is_some() =>
                {
                    let at_point = node.kind == "village_point";
                    let dest = s.dest_node.clone().filter(|d| !d.trim().is_empty());
                    if at_point && dest.as_deref().is_some_and(|d| d.trim() != node.code) {
                        return Err(StoreError::field("dest_node", Reason::WrongPlace));
                    }
                    let dest = if at_point {
                        Some(node.code.clone())
                    } else {
                        dest
                    };
                    let p = NewParcel {
                        carrier: s.carrier.clone().unwrap_or_default(),
                        waybill: s.waybill.clone(),
                        direction: Direction::Downstream,
                        weight_g: 0,
                        volume_cm3: 0,
                        cold_chain: false,
                        sender_name: None,
                        sender_phone: None,
                        recipient_name: s.recipient_name.clone().unwrap_or_default(),
                        recipient_phone: s.recipient_phone.clone().unwrap_or_default(),
                        dest_region: None,
                        dest_node: dest,
                        order_id: None,
                    };
                    if !actor.role.handles_parcels() {
                        return Err(StoreError::Forbidden);
                    }
                    let waybill = self.check_new_parcel(&p).await?;
                    register = Some((p, waybill));
                    vec![0]
                }
                Err(StoreError::Invalid(e))
                    if agent && e.first().is_some_and(|f| f.field == "waybill") =>
                {
                    return Err(elsewhere("waybill"));
                }
                Err(e) => return Err(e),
            },
        };
        if register.is_none()
            && let Some(allowed) = self.scannable(actor, &ids).await?
            && ids.iter().any(|id| !allowed.contains(id))
        {
            return Err(StoreError::field("waybill", Reason::UnknownReference));
        }
        let point = matches!(node.kind.as_str(), "village_point" | "locker_bank");
        let county =
            |region: &str| bazaar_domain::region::county_of_code(region).map(str::to_string);
        let node_county = county(&node.region_code);
        // Where each parcel may be: a downstream parcel is scanned only in its destination's
        // county once it is at a township or village, and handed over only at its own point.
        let rows: Vec<ScanRow> = if let Some((p, _)) = &register {
            let region = match &p.dest_node {
                Some(n) => self.node(n).await.ok().map(|n| n.region_code),
                None => None,
            };
            vec![(0, "downstream".into(), p.dest_node.clone(), region, None)]
        } else {
            on_read!(self, |p| {
                let mut v = Vec::with_capacity(ids.len());
                for id in &ids {
                    v.push(
                        sqlx::query_as(
                            "SELECT p.id, p.direction, p.dest_node, \
                             COALESCE(n.region_code, p.dest_region), p.pickup_code \
                             FROM parcels p LEFT JOIN nodes n ON n.code = p.dest_node \
                             WHERE p.id = $1",
                        )
                        .bind(id)
                        .fetch_one(p)
                        .await?,
                    );
                }
                v
            })
        };
        for (_, direction, dest_node, dest_region, _) in &rows {
            if direction == "upstream" {
                continue;
            }
            let local = matches!(
                node.kind.as_str(),
                "village_point" | "locker_bank" | "township_station"
            );
            if local
                && let Some(r) = dest_region
                && county(r) != node_county
            {
                return Err(elsewhere("node_code"));
            }
            let handover = matches!(
                kind,
                ScanKind::DeliveredToPoint | ScanKind::PutInLocker | ScanKind::PickedUpByRecipient
            );
            // An agent scans in only parcels bound for its point: one bound for a neighbour
            // is the operator's to re-route, and a guessed waybill must not move anything.
            if point && (handover || agent) && dest_node.as_ref().is_some_and(|d| *d != node.code) {
                return Err(elsewhere("node_code"));
            }
        }
        if kind == ScanKind::PickedUpByRecipient {
            // At a village point the handover goes through the pickup code, whoever scans.
            if rows.iter().any(|r| r.4.is_some()) {
                return Err(StoreError::field("kind", Reason::Inconsistent));
            }
        }
        let node_name = node.name.clone();
        let opening = match (&node.opens, &node.closes) {
            (Some(a), Some(b)) => format!("{a}–{b}"),
            _ => String::new(),
        };
        let res = in_tx!(self, |c| {
            let mut rows = rows.clone();
            c.lock_parcels(rows.iter().map(|r| r.0).collect(), now)
                .await?;
            // Registered when it was scanned (a phone's queue may send the scan later): its
            // first news is the scan's, which the 48-hour watch reads.
            if let Some((p, waybill)) = &register {
                rows[0].0 = c.insert_parcel(&p.row(waybill, actor.user_id, at)).await?;
            }
            let mut done = ScanDone {
                recorded: false,
                parcels: rows.len(),
                first: rows.first().map(|r| r.0),
                ..ScanDone::default()
            };
            if let Some(code) = &sack {
                sqlx::query(
                    "INSERT INTO sacks (code, node_code, created_by, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING",
                )
                .bind(code)
                .bind(&node.code)
                .bind(actor.user_id)
                .bind(now)
                .execute(&mut *c)
                .await?;
            }
            for (id, dir, _, _, _) in &rows {
                let state = kind.state(Direction::from_db(dir)).as_str();
                // One client id per parcel: a resent sack scan is recognised parcel by parcel.
                let cid = if sack_code.is_some() {
                    format!("{client_id}:{id}")
                } else {
                    client_id.to_string()
                };
                let signature: Option<String> = s
                    .signature
                    .as_deref()
                    .map(|x| x.chars().take(100).collect());
                let inserted = c
                    .insert_parcel_event(&ParcelEventRow {
                        parcel: *id,
                        source: "scan",
                        code: kind.as_str(),
                        state: Some(state),
                        place: None,
                        node: Some(&node.code),
                        actor: Some(actor.user_id),
                        client_id: Some(&cid),
                        note: signature.as_deref(),
                        at,
                        received_at: now,
                    })
                    .await?;
                if !inserted {
                    if register.is_some() {
                        // A client id already used for another scan: the new parcel goes too.
                        return Err(StoreError::field("client_id", Reason::Duplicate));
                    }
                    continue;
                }
                done.recorded = true;
                let (before, after) = c.settle(*id, now).await?;
                // In a sack, out of it at a point, handed over or picked up.
                let unpack = matches!(
                    kind,
                    ScanKind::DeliveredToPoint
                        | ScanKind::PutInLocker
                        | ScanKind::PickedUpByRecipient
                );
                if sack.is_some() || unpack {
                    sqlx::query("UPDATE parcels SET sack = $1 WHERE id = $2")
                        .bind(&sack)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                }
                if after == ParcelState::Delivered && before != ParcelState::Delivered {
                    let order: Option<i64> =
                        sqlx::query_scalar("SELECT order_id FROM parcels WHERE id = $1")
                            .bind(id)
                            .fetch_one(&mut *c)
                            .await?;
                    done.delivered_orders.extend(order);
                    sqlx::query(
                        "UPDATE parcels SET pickup_code = NULL, picked_up_at = $1, \
                         signature = COALESCE($2, signature) WHERE id = $3",
                    )
                    .bind(at)
                    .bind(
                        s.signature
                            .as_deref()
                            .map(|x| x.chars().take(100).collect::<String>()),
                    )
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                }
                if point
                    && after == ParcelState::InLockerOrStation
                    && before != ParcelState::InLockerOrStation
                {
                    let (code, slot) = c
                        .shelve(&Shelving {
                            parcel: *id,
                            node: &node.code,
                            node_name: &node_name,
                            opening: &opening,
                            messages: self.messages(),
                            at: now,
                        })
                        .await?;
                    if rows.len() == 1 {
                        done.pickup_code = Some(code);
                        done.shelf_slot = Some(slot);
                    }
                }
            }
            Ok(done)
        });
        let mut done = match res {
            Err(StoreError::Db(e))
                if register.is_some()
                    && StoreError::is_unique_violation(&e)
                    && e.to_string().contains("waybill") =>
            {
                // Registered by another scan meanwhile: this one is refused, a resend finds it.
                return Err(StoreError::field("waybill", Reason::Duplicate));
            }
            r => r?,
        };
        for o in std::mem::take(&mut done.delivered_orders) {
            self.deliver_by_parcels(o, Some(actor.user_id)).await?;
        }
        if let Some(id) = done.first {
            // The pickup code only to whoever just shelved the parcel (it is in `done`).
            let state: String = on_read!(self, |p| {
                sqlx::query_scalar("SELECT state FROM parcels WHERE id = $1")
                    .bind(id)
                    .fetch_one(p)
                    .await?
            });
            done.state = state;
            if rows.len() == 1 {
                done.parcel_id = Some(id);
            }
        }
        Ok(done)
    }
}

/// A refused scan's result.
fn refused(s: &ScanInput, e: FieldError) -> ScanResult {
    ScanResult {
        client_id: s.client_id.clone(),
        result: "refused",
        error: Some(e),
        state: None,
        parcel_id: None,
        parcels: 0,
        pickup_code: None,
        shelf_slot: None,
    }
}

/// A fresh client id for a scan sent alone without one.
pub fn fresh_client_id() -> String {
    format!("srv-{:016x}", rand::random::<u64>())
}

/// A sack or cage code: `SACK-` or `CAGE-` and 1–30 letters, digits or dashes.
pub fn check_sack_code(s: &str) -> Result<String, StoreError> {
    let up = s.trim().to_ascii_uppercase();
    let ok = (up.starts_with("SACK-") || up.starts_with("CAGE-"))
        && (6..=35).contains(&up.len())
        && up.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(up)
    } else {
        Err(StoreError::field("sack", Reason::InvalidFormat))
    }
}

/// One carrier tracking event (from a 快递100 push or a batch feed).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct CarrierEvent {
    /// The carrier's raw state code (快递100 `statusCode` or `state`): 1 to 10 printable
    /// ASCII characters.
    #[schema(pattern = "^\\s*[!-~]{1,10}\\s*$")]
    pub code: String,
    /// When it happened (UTC ms): from 2000 until an hour from now.
    #[schema(minimum = 946_684_800_000_i64, maximum = 4_102_444_800_000_i64)]
    pub at: i64,
    /// The carrier's text.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// Where, as the carrier wrote it.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub place: Option<String>,
}

impl Store {
    /// Records a carrier's events for a parcel as `actor` (operators and admins), inside
    /// their scope (see [`Store::parcel_access`]; operators only for their region's parcels,
    /// as in the batch feed).
    pub async fn carrier_events(
        &self,
        actor: &Actor,
        parcel_id: i64,
        events: &[CarrierEvent],
    ) -> Result<usize, StoreError> {
        if !actor.role.runs_network() {
            return Err(StoreError::Forbidden);
        }
        self.parcel_access(actor, parcel_id).await?;
        self.record_carrier_events(parcel_id, events).await
    }

    /// Records a carrier's events for a parcel (the system's own feeds: no caller to check):
    /// an event seen before (same code and time)
    /// changes nothing, a code we do not know is kept raw without a state, and the parcel's
    /// state becomes that of its latest event by time. Returns how many events were new.
    pub async fn record_carrier_events(
        &self,
        parcel_id: i64,
        events: &[CarrierEvent],
    ) -> Result<usize, StoreError> {
        let now = now_ms();
        in_tx!(self, |c| {
            c.lock_parcels(vec![parcel_id], now).await?;
            let mut new = 0;
            for e in events {
                let state = bazaar_domain::logistics::kuaidi100_state(&e.code).map(|s| s.as_str());
                let written = c
                    .insert_parcel_event(&ParcelEventRow {
                        parcel: parcel_id,
                        source: "carrier",
                        code: e.code.trim(),
                        state,
                        place: e.place.as_deref(),
                        node: None,
                        actor: None,
                        client_id: None,
                        note: e.note.as_deref(),
                        at: e.at,
                        received_at: now,
                    })
                    .await?;
                new += usize::from(written);
            }
            // Placed by time: the events replayed in time order decide.
            if new > 0 {
                c.settle(parcel_id, now).await?;
            }
            Ok(new)
        })
    }
}

impl Store {
    /// The parcels of an order with their timelines, for whoever may see the order.
    pub async fn order_parcels(
        &self,
        actor: &Actor,
        order_id: i64,
    ) -> Result<Vec<Tracked>, StoreError> {
        self.order(actor, order_id).await?;
        let ids: Vec<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT id FROM parcels WHERE order_id = $1 ORDER BY id")
                .bind(order_id)
                .fetch_all(p)
                .await?
        });
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // A seller of a two-seller order sees its own parcels, not the other's.
            match self.tracked(actor, id).await {
                Ok(t) => out.push(t),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
