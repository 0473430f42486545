//! Village pickup: a parcel scanned onto a village point's or locker's shelf gets a pickup
//! code (six digits, unique among that point's waiting parcels) and a shelf slot, and its
//! recipient is notified. The agent hands it over against the code and the last four digits
//! of the recipient's phone; wrong attempts are counted per point so codes cannot be guessed
//! in bulk. Not picked up in time: a reminder, then back to the sender.
//!
//! Notifications go through an outbox written in the same transaction as what caused them;
//! `serve` sends them through the configured notifier and marks them sent.

use crate::logistics::parcels::{ParcelEventRow, ParcelWrites, Tracked};
use crate::notify::{Message, Messages};
use crate::people::throttle::Limit;
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::logistics::ParcelState;
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::text::mask_phone;
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;

/// A message to a person, as [`PickupWrites::enqueue_notification`] writes it to the outbox
/// inside the caller's transaction (sent later by the notifications job).
pub(crate) struct NotificationRow<'a> {
    /// What it is about (`pickup_code`, `pickup_reminder`, `returned`, `stalled`).
    pub kind: &'a str,
    /// The account to reach (WeChat), when there is one.
    pub user: Option<i64>,
    /// The phone to reach (SMS), when there is one.
    pub phone: Option<&'a str>,
    /// The parcel it is about.
    pub parcel: Option<i64>,
    /// The language it is written in (the recipient's), when known.
    pub lang: Option<&'a str>,
    /// The text.
    pub body: &'a str,
    /// When (UTC ms).
    pub at: i64,
}

/// A parcel to put on a point's shelf (see [`PickupWrites::shelve`]).
pub(crate) struct Shelving<'a> {
    /// The parcel.
    pub parcel: i64,
    /// The point's code.
    pub node: &'a str,
    /// The point's name, for the message.
    pub node_name: &'a str,
    /// Its opening hours (`08:00–20:00`), or empty.
    pub opening: &'a str,
    /// The words of the message to the recipient.
    pub messages: &'a dyn Messages,
    /// When (UTC ms).
    pub at: i64,
}

/// Who a pickup message goes to: the carrier, waybill, phone, buyer account and language.
type Recipient = (String, String, String, Option<i64>, Option<String>);

/// A parcel waiting on a shelf: id, waybill, phone, code, buyer, point name, language.
type Waiting = (
    i64,
    String,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
);

/// The writes of village pickup, on a transaction's connection of either backend.
pub(crate) trait PickupWrites {
    /// Writes a notification to the outbox.
    async fn enqueue_notification(&mut self, n: &NotificationRow<'_>) -> Result<(), StoreError>;

    /// Puts a parcel on a point's shelf: a fresh pickup code, the first free slot, and a
    /// notification to its recipient; (code, slot). `no_free_pickup_code` or `shelf_full`
    /// when the point has none left.
    async fn shelve(&mut self, s: &Shelving<'_>) -> Result<(String, String), StoreError>;
}

crate::both_dialects! {
    impl PickupWrites {
        async fn enqueue_notification(&mut self, n: &NotificationRow<'_>) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO notifications (kind, user_id, phone, parcel_id, lang, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(n.kind)
            .bind(n.user)
            .bind(n.phone)
            .bind(n.parcel)
            .bind(n.lang)
            .bind(n.body)
            .bind(n.at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn shelve(&mut self, s: &Shelving<'_>) -> Result<(String, String), StoreError> {
            let taken: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT pickup_code, shelf_slot FROM parcels \
                 WHERE pickup_node = $1 AND pickup_code IS NOT NULL",
            )
            .bind(s.node)
            .fetch_all(&mut *self)
            .await?;
            let codes: std::collections::HashSet<&str> = taken.iter().map(|t| t.0.as_str()).collect();
            let slots: std::collections::HashSet<&str> =
                taken.iter().filter_map(|t| t.1.as_deref()).collect();
            let code = (0..100)
                .map(|_| {
                    format!(
                        "{:06}",
                        rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..1_000_000u32)
                    )
                })
                .find(|c| !codes.contains(c.as_str()))
                .ok_or(StoreError::Rule(bazaar_domain::ErrorCode::NoFreePickupCode))?;
            let slot = (1..=780)
                .map(slot_name)
                .find(|x| !slots.contains(x.as_str()))
                .ok_or(StoreError::Rule(bazaar_domain::ErrorCode::ShelfFull))?;
            sqlx::query(
                "UPDATE parcels SET pickup_node = $1, pickup_code = $2, shelf_slot = $3, \
                 waiting_since = $4, reminded_at = NULL WHERE id = $5",
            )
            .bind(s.node)
            .bind(&code)
            .bind(&slot)
            .bind(s.at)
            .bind(s.parcel)
            .execute(&mut *self)
            .await?;
            // The recipient's language: the buyer's account's, else the point's.
            let (carrier, waybill, phone, buyer, lang): Recipient = sqlx::query_as(
                "SELECT p.carrier, p.waybill, p.recipient_phone, o.buyer_id, \
                 COALESCE(u.lang, pn.lang) FROM parcels p \
                 LEFT JOIN orders o ON o.id = p.order_id LEFT JOIN users u ON u.id = o.buyer_id \
                 LEFT JOIN nodes pn ON pn.code = $2 WHERE p.id = $1",
            )
            .bind(s.parcel)
            .bind(s.node)
            .fetch_one(&mut *self)
            .await?;
            let carrier = bazaar_domain::logistics::carrier(&carrier)
                .map(|c| c.name)
                .unwrap_or("");
            let message = Message::PickupCode {
                point: s.node_name,
                carrier,
                waybill: &waybill,
                code: &code,
                slot: &slot,
                hours: s.opening,
            };
            let body = s.messages.compose(lang.as_deref(), &message);
            self.enqueue_notification(&NotificationRow {
                kind: message.kind(),
                user: buyer,
                phone: Some(&phone),
                parcel: Some(s.parcel),
                lang: lang.as_deref(),
                body: &body,
                at: s.at,
            })
            .await?;
            Ok((code, slot))
        }
    }
}

/// Hand-over attempts one person may make at a point before each further one waits longer
/// (see [`crate::people::throttle`]).
pub const MAX_PICKUP_FAILURES: i64 = 10;
/// Days on the shelf before the recipient is reminded (setting `pickup_remind_days`).
pub const REMIND_DAYS: i64 = 3;
/// Days on the shelf before the parcel goes back to its sender (setting `pickup_return_days`).
pub const RETURN_DAYS: i64 = 7;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A shelf slot's name: shelves A, B, … of 30 places each (`A-01` … `A-30`, `B-01`, …).
pub fn slot_name(n: usize) -> String {
    let shelf = (b'A' + ((n.saturating_sub(1) / 30) % 26) as u8) as char;
    format!("{shelf}-{:02}", (n.saturating_sub(1) % 30) + 1)
}

/// A handover at a village point.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct PickupInput {
    /// The pickup code the recipient reads out, six digits (also accepted as `code`).
    #[serde(default, alias = "code")]
    #[schema(required = true, pattern = "^\\s*[0-9]{6}\\s*$")]
    pub pickup_code: String,
    /// The last four digits of the recipient's phone.
    #[serde(default)]
    #[schema(required = true, pattern = "^\\s*[0-9]{4}\\s*$")]
    pub phone_last4: String,
    /// The recipient's signature: a name, or a drawn signature as a `data:image/png;base64,`
    /// URL; at most 200,000 characters.
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 200_000,
        pattern = "^(?!\\s*data:(?!image/png;base64,))[\\s\\S]*\\S[\\s\\S]*$"
    )]
    pub signature: String,
    /// The point (the agent's own when omitted).
    #[serde(default, alias = "node_id")]
    pub node_code: Option<String>,
    /// Instead of a pickup code, for a recipient who comes without one (an elderly villager
    /// with only a name and a phone): the parcel the agent found on the shelf. The last four
    /// digits of the phone must still match, and the hand-over is recorded as made without
    /// the code.
    #[serde(default)]
    pub parcel_id: Option<i64>,
}

/// A parcel waiting on a point's shelf, or going out from it today.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ShelfParcel {
    /// Parcel id.
    pub id: i64,
    /// Carrier code.
    pub carrier: String,
    /// Waybill.
    pub waybill: String,
    /// Canonical state.
    pub state: String,
    /// upstream, downstream or same_city.
    pub direction: String,
    /// Recipient.
    pub recipient_name: String,
    /// Recipient's phone, masked.
    pub recipient_phone: String,
    /// Shelf slot.
    pub shelf_slot: Option<String>,
    /// On the shelf since (UTC ms).
    pub waiting_since: Option<i64>,
    /// Reminded at (UTC ms).
    pub reminded_at: Option<i64>,
    /// Last event (UTC ms).
    pub last_event_at: Option<i64>,
}

/// A point's shelf: what waits for its recipients and what goes out today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Shelf {
    /// The point.
    pub node_code: String,
    /// Waiting for their recipients, by shelf slot.
    pub waiting: Vec<ShelfParcel>,
    /// Going out: villagers' parcels collected here and parcels going back to their senders.
    pub outgoing: Vec<ShelfParcel>,
}

/// Attempts at sending a notification before it waits for an admin.
pub const MAX_SEND_ATTEMPTS: i64 = 5;

/// A notification that failed its last attempt, as admins see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FailedNotification {
    /// Id.
    pub id: i64,
    /// pickup_code, pickup_reminder, returned, stalled.
    pub kind: String,
    /// The phone it was for, masked.
    pub phone: Option<String>,
    /// The parcel it is about.
    pub parcel_id: Option<i64>,
    /// Times it was tried.
    pub attempts: i64,
    /// The channels tried last.
    pub channel: Option<String>,
    /// The last error.
    pub error: Option<String>,
    /// Written (UTC ms).
    pub created_at: i64,
}

/// A notification waiting to be sent.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    /// Id.
    pub id: i64,
    /// pickup_code, pickup_reminder, returned, stalled.
    pub kind: String,
    /// The account it is for, when there is one.
    pub user_id: Option<i64>,
    /// The phone it is for, when there is one (never logged unmasked).
    pub phone: Option<String>,
    /// The parcel it is about.
    pub parcel_id: Option<i64>,
    /// The text.
    pub body: String,
    /// Times it was tried.
    pub attempts: i64,
    /// The WeChat follower bound to its account or phone, when there is one (filled for
    /// sending only, never shown).
    #[sqlx(default)]
    #[serde(skip)]
    pub openid: Option<String>,
    /// Its parcel's waybill (for sending only: a template's own fields).
    #[sqlx(default)]
    #[serde(skip)]
    pub waybill: Option<String>,
    /// Its parcel's pickup code while it waits on a shelf (for sending only).
    #[sqlx(default)]
    #[serde(skip)]
    pub pickup_code: Option<String>,
    /// The point whose shelf it waits on (for sending only).
    #[sqlx(default)]
    #[serde(skip)]
    pub place: Option<String>,
    /// The language its text was composed in (a template's title follows it).
    #[sqlx(default)]
    #[serde(skip)]
    pub lang: Option<String>,
}

const SHELF_COLS: &str = "id, carrier, waybill, state, direction, recipient_name, \
    recipient_phone, shelf_slot, waiting_since, reminded_at, last_event_at";

impl Store {
    /// The point an actor works at (an agent's own; others name it), checked against their
    /// scope.
    async fn handling_node(
        &self,
        actor: &Actor,
        node: Option<&str>,
    ) -> Result<crate::network::Node, StoreError> {
        let Some(code) = node.or(actor.node_code.as_deref()) else {
            return Err(StoreError::field("node_code", Reason::Needed));
        };
        let (n, path) = self
            .node_with_path(code)
            .await
            .map_err(|_| StoreError::field("node_code", Reason::UnknownReference))?;
        if !actor.can_handle_at(&n.code, &path) {
            return Err(StoreError::Forbidden);
        }
        Ok(n)
    }

    /// Hands a waiting parcel over against its pickup code and the last four digits of the
    /// recipient's phone, recording the signature. Attempts count against the person at the
    /// point: after [`MAX_PICKUP_FAILURES`] each waits longer (throttled meanwhile).
    pub async fn hand_over(
        &self,
        actor: &Actor,
        input: &PickupInput,
    ) -> Result<Tracked, StoreError> {
        if !actor.role.works_shelf() {
            return Err(StoreError::Forbidden);
        }
        let node = self
            .handling_node(actor, input.node_code.as_deref())
            .await?;
        let now = now_ms();
        let code = input.pickup_code.trim();
        let last4 = input.phone_last4.trim();
        let mut errs = Vec::new();
        // Without a code, the parcel chosen on the shelf.
        let by_id = input.parcel_id.filter(|_| code.is_empty());
        if by_id.is_none() && (code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit())) {
            errs.push(FieldError::new("pickup_code", Reason::InvalidFormat));
        }
        if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
            errs.push(FieldError::new("phone_last4", Reason::InvalidFormat));
        }
        let signature = input.signature.trim();
        if signature.is_empty() {
            errs.push(FieldError::new("signature", Reason::Required));
        } else if input.signature.chars().count() > 200_000
            || (signature.starts_with("data:") && !signature.starts_with("data:image/png;base64,"))
        {
            errs.push(FieldError::new("signature", Reason::InvalidFormat));
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        // Each attempt counts before the code is checked, per person at the point (another
        // agent's or operator's mistakes delay nobody else) and per person overall.
        let here = format!("pickup:{}|{}", node.code, actor.user_id);
        let anywhere = format!("pickup-actor:{}", actor.user_id);
        self.throttle_attempt(
            &[
                Limit::new(here.clone(), MAX_PICKUP_FAILURES),
                Limit::new(anywhere.clone(), 3 * MAX_PICKUP_FAILURES),
            ],
            now,
        )
        .await?;
        let found: Option<(i64, String, Option<i64>, String)> = on_read!(self, |p| {
            match by_id {
                Some(id) => {
                    sqlx::query_as(
                        "SELECT id, recipient_phone, order_id, pickup_code FROM parcels \
                         WHERE pickup_node = $1 AND id = $2 AND pickup_code IS NOT NULL \
                         AND state = 'in_locker_or_station'",
                    )
                    .bind(&node.code)
                    .bind(id)
                    .fetch_optional(p)
                    .await?
                }
                None => {
                    sqlx::query_as(
                        "SELECT id, recipient_phone, order_id, pickup_code FROM parcels \
                         WHERE pickup_node = $1 AND pickup_code = $2 \
                         AND state = 'in_locker_or_station'",
                    )
                    .bind(&node.code)
                    .bind(code)
                    .fetch_optional(p)
                    .await?
                }
            }
        });
        // A wrong code and a right code with the wrong phone get the same answer: it does
        // not tell whether a code exists. Without a code, the phone is what is checked.
        let wrong = if by_id.is_some() {
            StoreError::field("phone_last4", Reason::WrongCode)
        } else {
            StoreError::field("pickup_code", Reason::WrongCode)
        };
        let (id, order_id, code) = match found {
            Some((id, phone, order_id, code)) if phone.ends_with(last4) => (id, order_id, code),
            _ => return Err(wrong),
        };
        let code = code.as_str();
        let note = if by_id.is_some() {
            "签收（无取件码，核对姓名与手机尾号）"
        } else {
            "签收"
        };
        let signature = signature.to_string();
        in_tx!(self, |c| {
            c.lock_parcels(vec![id], now).await?;
            // Only a parcel still waiting with this code: a second handover finds nothing.
            let hit = sqlx::query(
                "UPDATE parcels SET pickup_code = NULL, picked_up_at = $1, signature = $2 \
                 WHERE id = $3 AND pickup_code = $4",
            )
            .bind(now)
            .bind(&signature)
            .bind(id)
            .bind(code)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::field("pickup_code", Reason::WrongCode));
            }
            let client_id = format!("pickup:{id}:{now}");
            c.insert_parcel_event(&ParcelEventRow {
                parcel: id,
                source: "scan",
                code: "picked_up_by_recipient",
                state: Some(ParcelState::Delivered.as_str()),
                place: None,
                node: Some(&node.code),
                actor: Some(actor.user_id),
                client_id: Some(&client_id),
                note: Some(note),
                at: now,
                received_at: now,
            })
            .await?;
            c.settle(id, now).await?;
            Ok(())
        })?;
        self.throttle_success(&[&here], &[&anywhere]).await?;
        if let Some(o) = order_id {
            self.deliver_by_parcels(o, Some(actor.user_id)).await?;
        }
        self.tracked(actor, id).await
    }

    /// A point's shelf: parcels waiting there by slot, and what goes out from it today.
    pub async fn shelf(&self, actor: &Actor, node: Option<&str>) -> Result<Shelf, StoreError> {
        if !actor.role.works_shelf() {
            return Err(StoreError::Forbidden);
        }
        let node = self.handling_node(actor, node).await?;
        let waiting_sql = format!(
            "SELECT {SHELF_COLS} FROM parcels WHERE pickup_node = $1 AND pickup_code IS NOT NULL \
             AND state = 'in_locker_or_station' \
             ORDER BY shelf_slot, id LIMIT 1000"
        );
        let outgoing_sql = format!(
            "SELECT {SHELF_COLS} FROM parcels WHERE last_node = $1 AND \
             ((direction = 'upstream' AND state = 'picked_up') OR state = 'returning') \
             ORDER BY last_event_at, id LIMIT 1000"
        );
        let (mut waiting, mut outgoing): (Vec<ShelfParcel>, Vec<ShelfParcel>) =
            on_read!(self, |p| {
                (
                    sqlx::query_as(&waiting_sql)
                        .bind(&node.code)
                        .fetch_all(p)
                        .await?,
                    sqlx::query_as(&outgoing_sql)
                        .bind(&node.code)
                        .fetch_all(p)
                        .await?,
                )
            });
        for x in waiting.iter_mut().chain(outgoing.iter_mut()) {
            x.recipient_phone = mask_phone(&x.recipient_phone);
        }
        Ok(Shelf {
            node_code: node.code,
            waiting,
            outgoing,
        })
    }

    /// A whole-number setting, or its default.
    pub async fn setting_i64(&self, key: &str, default: i64) -> Result<i64, StoreError> {
        Ok(self
            .setting(key)
            .await?
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default))
    }

    /// A setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(p)
                .await?
        }))
    }

    /// Sets a setting (admins).
    pub async fn set_setting(
        &self,
        actor: &Actor,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        self.put_setting(key, value).await
    }

    pub(crate) async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// Reminds recipients of parcels waiting more than `pickup_remind_days` and sends back
    /// those waiting more than `pickup_return_days`. Returns (reminded, returned). Run
    /// periodically by `serve`.
    pub async fn pickup_deadlines(&self, now: i64) -> Result<(usize, usize), StoreError> {
        let remind = self.setting_i64("pickup_remind_days", REMIND_DAYS).await?;
        let back = self.setting_i64("pickup_return_days", RETURN_DAYS).await?;
        let due: Vec<Waiting> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT p.id, p.waybill, p.recipient_phone, p.pickup_code, o.buyer_id, \
                 COALESCE(n.name, ''), COALESCE(u.lang, n.lang) FROM parcels p \
                 LEFT JOIN orders o ON o.id = p.order_id LEFT JOIN users u ON u.id = o.buyer_id \
                 LEFT JOIN nodes n ON n.code = p.pickup_node \
                 WHERE p.pickup_code IS NOT NULL AND p.reminded_at IS NULL \
                 AND p.waiting_since < $1 ORDER BY p.waiting_since LIMIT 500",
            )
            .bind(now - remind * DAY_MS)
            .fetch_all(p)
            .await?
        });
        let mut reminded = 0;
        for (id, waybill, phone, code, buyer, node, lang) in due {
            let message = Message::PickupReminder {
                point: &node,
                waybill: &waybill,
                code: &code,
                days: remind,
                back_days: back,
            };
            let body = self.messages().compose(lang.as_deref(), &message);
            // Guarded: another node's run, or a hand-over meanwhile, leaves it alone.
            let done = in_tx!(self, |c| {
                let hit = sqlx::query(
                    "UPDATE parcels SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL \
                     AND pickup_code IS NOT NULL",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if hit == 0 {
                    return Ok(false);
                }
                c.enqueue_notification(&NotificationRow {
                    kind: message.kind(),
                    user: buyer,
                    phone: Some(&phone),
                    parcel: Some(id),
                    lang: lang.as_deref(),
                    body: &body,
                    at: now,
                })
                .await?;
                Ok(true)
            })?;
            reminded += usize::from(done);
        }
        let expired: Vec<(i64, String, String, Option<String>)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT p.id, p.pickup_node, p.recipient_phone, n.lang FROM parcels p \
                 LEFT JOIN nodes n ON n.code = p.pickup_node \
                 WHERE p.pickup_code IS NOT NULL AND p.waiting_since < $1 \
                 ORDER BY p.waiting_since LIMIT 500",
            )
            .bind(now - back * DAY_MS)
            .fetch_all(p)
            .await?
        });
        let mut returned = 0;
        for (id, node, phone, lang) in expired {
            let message = Message::Returned { days: back };
            let body = self.messages().compose(lang.as_deref(), &message);
            let done = in_tx!(self, |c| {
                let hit = sqlx::query(
                    "UPDATE parcels SET pickup_code = NULL WHERE id = $1 \
                     AND pickup_code IS NOT NULL AND waiting_since < $2",
                )
                .bind(id)
                .bind(now - back * DAY_MS)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if hit == 0 {
                    return Ok(false);
                }
                let client_id = format!("return:{id}");
                c.insert_parcel_event(&ParcelEventRow {
                    parcel: id,
                    source: "scan",
                    code: "return_to_sender",
                    state: Some(ParcelState::Returning.as_str()),
                    place: None,
                    node: Some(&node),
                    actor: None,
                    client_id: Some(&client_id),
                    note: Some("逾期未取，退回寄件人"),
                    at: now,
                    received_at: now,
                })
                .await?;
                c.settle(id, now).await?;
                c.enqueue_notification(&NotificationRow {
                    kind: message.kind(),
                    user: None,
                    phone: Some(&phone),
                    parcel: Some(id),
                    lang: lang.as_deref(),
                    body: &body,
                    at: now,
                })
                .await?;
                Ok(true)
            })?;
            returned += usize::from(done);
        }
        Ok((reminded, returned))
    }

    /// Notifications not yet sent, oldest first.
    pub async fn unsent_notifications(&self, limit: i64) -> Result<Vec<Notification>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                // The follower bound to the phone it is for (the recipient, who may not be
                // the buyer); to the account only when it is for no phone. Phones typed with
                // dashes or spaces meet their binding's digits.
                // The parcel's waybill, code and point, for templates with fields of their own.
                "SELECT n.id, n.kind, n.user_id, n.phone, n.parcel_id, n.body, n.attempts, \
                 CASE WHEN n.phone IS NULL THEN wu.openid ELSE wp.openid END AS openid, \
                 p.waybill, p.pickup_code, pn.name AS place, n.lang \
                 FROM notifications n \
                 LEFT JOIN wechat_bindings wu ON wu.user_id = n.user_id \
                 LEFT JOIN wechat_bindings wp \
                 ON wp.phone = REPLACE(REPLACE(n.phone, '-', ''), ' ', '') \
                 LEFT JOIN parcels p ON p.id = n.parcel_id \
                 LEFT JOIN nodes pn ON pn.code = p.pickup_node \
                 WHERE n.sent_at IS NULL AND n.attempts < $2 ORDER BY n.id LIMIT $1",
            )
            .bind(limit)
            .bind(MAX_SEND_ATTEMPTS)
            .fetch_all(p)
            .await?
        }))
    }

    /// Notifications that failed their last attempt (admins): nothing is dropped silently.
    /// Newest first, at most `limit`.
    pub async fn failed_notifications(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<FailedNotification>, StoreError> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let mut rows: Vec<FailedNotification> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, kind, phone, parcel_id, attempts, channel, error, created_at \
                 FROM notifications WHERE sent_at IS NULL AND attempts >= $1 \
                 ORDER BY id DESC LIMIT $2",
            )
            .bind(MAX_SEND_ATTEMPTS)
            .bind(limit.clamp(1, 200))
            .fetch_all(p)
            .await?
        });
        for r in &mut rows {
            r.phone = r.phone.as_deref().map(mask_phone);
        }
        Ok(rows)
    }

    /// Sends a failed notification again (admins): its attempts start over.
    pub async fn retry_notification(&self, actor: &Actor, id: i64) -> Result<(), StoreError> {
        if actor.role != Role::Admin {
            return Err(StoreError::Forbidden);
        }
        let hit = in_tx!(self, |c| {
            Ok(sqlx::query(
                "UPDATE notifications SET attempts = 0, error = NULL WHERE id = $1 \
                 AND sent_at IS NULL",
            )
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected())
        })?;
        if hit == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Claims a notification for sending (one node sends it): true when this caller got it.
    pub async fn claim_notification(&self, id: i64, attempts: i64) -> Result<bool, StoreError> {
        in_tx!(self, |c| {
            Ok(sqlx::query(
                "UPDATE notifications SET attempts = attempts + 1 WHERE id = $1 \
                 AND sent_at IS NULL AND attempts = $2",
            )
            .bind(id)
            .bind(attempts)
            .execute(&mut *c)
            .await?
            .rows_affected()
                > 0)
        })
    }

    /// Records a notification's sending: sent through `channel`, or failed with `error`
    /// (tried again later, [`MAX_SEND_ATTEMPTS`] times in all).
    pub async fn notification_sent(
        &self,
        id: i64,
        channel: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "UPDATE notifications SET channel = $1, error = $2, \
                 sent_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4",
            )
            .bind(channel)
            .bind(error)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    /// The latest notifications for an account (its inbox), newest first.
    pub async fn my_notifications(&self, actor: &Actor) -> Result<Vec<Notification>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, kind, user_id, phone, parcel_id, body, attempts FROM notifications \
                 WHERE user_id = $1 ORDER BY id DESC LIMIT 50",
            )
            .bind(actor.user_id)
            .fetch_all(p)
            .await?
        }))
    }
}
