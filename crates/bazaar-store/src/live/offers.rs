//! Flash offers: written on a session, their cap set aside from one location's stock when
//! scheduled, opened and closed by the host or the clock, settled when every hold is decided.

use crate::stock::{LedgerEntry, MoveKind, StockWrites};
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::live::{OfferAction, OfferStatus, OfferTerms, offer_transition};
use bazaar_domain::people::Actor;
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;

/// A flash offer as stored, with what is left of it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Offer {
    /// Id.
    pub id: i64,
    /// The session it is on.
    pub session_id: i64,
    /// The SKU it sells.
    pub sku_id: i64,
    /// The stock location its units are set aside at.
    pub location_id: i64,
    /// Price of one unit, fen.
    pub price_fen: i64,
    /// Units on offer.
    pub cap: i64,
    /// Units paid for.
    pub sold: i64,
    /// Units held by orders waiting for payment.
    pub held: i64,
    /// Most units one buyer may hold or buy.
    pub per_buyer_limit: i64,
    /// Most units in one order.
    pub per_order_limit: i64,
    /// Opens at (UTC ms).
    pub starts_at: i64,
    /// Closes at (UTC ms).
    pub ends_at: i64,
    /// How long an order holds its units for payment (ms).
    pub hold_ms: i64,
    /// draft, scheduled, live, paused, sold_out, ended or settled.
    pub status: String,
}

impl Offer {
    /// Units neither sold nor held.
    pub fn remaining(&self) -> i64 {
        self.cap - self.sold - self.held
    }
}

/// A new offer, as sent.
#[derive(Debug, Clone)]
pub struct NewOffer {
    /// The SKU.
    pub sku_id: i64,
    /// The network node whose stock location holds the units (`None`: the seller's own).
    pub location: Option<String>,
    /// Its terms.
    pub terms: OfferTerms,
    /// Set the cap aside now (scheduled), or keep it a draft.
    pub schedule: bool,
}

pub(crate) const OFFER_COLS: &str = "id, session_id, sku_id, location_id, price_fen, cap, sold, \
    held, per_buyer_limit, per_order_limit, starts_at, ends_at, hold_ms, status";

impl Store {
    /// An offer (offers are public, as their sessions are).
    pub async fn offer(&self, id: i64) -> Result<Offer, StoreError> {
        let sql = format!("SELECT {OFFER_COLS} FROM offers WHERE id = $1");
        let r: Option<Offer> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// A session's offers, oldest first.
    pub async fn session_offers(&self, session_id: i64) -> Result<Vec<Offer>, StoreError> {
        let sql = format!("SELECT {OFFER_COLS} FROM offers WHERE session_id = $1 ORDER BY id");
        Ok(on_read!(self, |p| {
            sqlx::query_as(&sql).bind(session_id).fetch_all(p).await?
        }))
    }

    /// Writes an offer on a session the caller runs, of a listed product's SKU, and (unless a
    /// draft) sets its cap aside from the stock at the location: a cap above what is free
    /// there is refused, naming `cap`, with nothing changed.
    pub async fn create_offer(
        &self,
        actor: &Actor,
        session_id: i64,
        o: &NewOffer,
    ) -> Result<Offer, StoreError> {
        let s = self.session_run_by(actor, session_id).await?;
        if s.status == "ended" {
            return Err(StoreError::InvalidTransition {
                from: s.status,
                action: "add_offer".into(),
            });
        }
        let mut errs = o.terms.check();
        let sku: Option<(i64, i64, String)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT p.id, p.seller_id, p.status FROM skus k JOIN products p \
                 ON p.id = k.product_id WHERE k.id = $1",
            )
            .bind(o.sku_id)
            .fetch_optional(p)
            .await?
        });
        let (product, seller) = match sku {
            Some((product, seller, status)) if status == "listed" => (Some(product), Some(seller)),
            _ => {
                errs.push(FieldError::new("sku_id", Reason::UnknownReference));
                (None, None)
            }
        };
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        let location = match (&o.location, seller) {
            (Some(code), _) => {
                let at: Option<i64> = on_read!(self, |p| {
                    sqlx::query_scalar("SELECT id FROM stock_locations WHERE node_code = $1")
                        .bind(code.trim())
                        .fetch_optional(p)
                        .await?
                });
                at.ok_or_else(|| StoreError::field("location", Reason::UnknownReference))?
            }
            (None, Some(seller)) => {
                let home: Option<i64> = on_read!(self, |p| {
                    sqlx::query_scalar("SELECT id FROM stock_locations WHERE seller_id = $1")
                        .bind(seller)
                        .fetch_optional(p)
                        .await?
                });
                home.ok_or_else(|| StoreError::field("location", Reason::UnknownReference))?
            }
            (None, None) => return Err(StoreError::field("sku_id", Reason::UnknownReference)),
        };
        let stocked: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT on_hand FROM stock WHERE sku_id = $1 AND location_id = $2")
                .bind(o.sku_id)
                .bind(location)
                .fetch_optional(p)
                .await?
        });
        if stocked.is_none() {
            return Err(StoreError::field("location", Reason::UnknownReference));
        }
        // Whose units: those consigned to the live room's own point, or, for whoever may
        // change the product (its seller, the operator of its region), any of its stock. A
        // host cannot lock up a seller's stock elsewhere.
        let room: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT id FROM stock_locations WHERE node_code = $1")
                .bind(&s.room_node)
                .fetch_optional(p)
                .await?
        });
        if room != Some(location) {
            let target = match product {
                Some(id) => self.product_for(None, id).await?,
                None => return Err(StoreError::field("sku_id", Reason::UnknownReference)),
            };
            if !actor.can_edit(target.row.target()) {
                return Err(StoreError::field("location", Reason::OutOfScope));
            }
        }
        let t = &o.terms;
        let now = now_ms();
        let status = if o.schedule {
            OfferStatus::Scheduled
        } else {
            OfferStatus::Draft
        };
        let id: i64 = in_tx!(self, |c| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO offers (session_id, sku_id, location_id, price_fen, cap, \
                 per_buyer_limit, per_order_limit, starts_at, ends_at, hold_ms, status, \
                 created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $13) RETURNING id",
            )
            .bind(session_id)
            .bind(o.sku_id)
            .bind(location)
            .bind(t.price_fen)
            .bind(t.cap)
            .bind(t.per_buyer_limit)
            .bind(t.per_order_limit)
            .bind(t.starts_at)
            .bind(t.ends_at)
            .bind(t.hold_minutes * 60_000)
            .bind(status.as_str())
            .bind(actor.user_id)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            if o.schedule {
                c.set_aside(o.sku_id, location, t.cap, actor.user_id, now)
                    .await?;
            }
            Ok(id)
        })?;
        self.offer(id).await
    }

    /// Schedules (sets the cap aside), starts, pauses, resumes or stops an offer of a session
    /// the caller runs. A stopped offer is settled at once when nothing is held.
    pub async fn offer_action(
        &self,
        actor: &Actor,
        id: i64,
        action: OfferAction,
    ) -> Result<Offer, StoreError> {
        let o = self.offer(id).await?;
        self.session_run_by(actor, o.session_id).await?;
        let from = OfferStatus::from_db(&o.status).ok_or(StoreError::NotFound)?;
        let refused = || StoreError::InvalidTransition {
            from: from.as_str().into(),
            action: action.as_str().into(),
        };
        let to = offer_transition(from, action).ok_or_else(refused)?;
        let now = now_ms();
        // Opening after its time is over is refused: the clock ends it instead.
        if action == OfferAction::Start && now >= o.ends_at {
            return Err(StoreError::Rule(bazaar_domain::ErrorCode::OfferEnded));
        }
        in_tx!(self, |c| {
            let hit = sqlx::query(
                "UPDATE offers SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(refused());
            }
            if action == OfferAction::Schedule {
                c.set_aside(o.sku_id, o.location_id, o.cap, actor.user_id, now)
                    .await?;
            }
            Ok(())
        })?;
        if to == OfferStatus::Ended {
            self.settle_offer(id).await?;
        }
        self.offer(id).await
    }

    /// What the clock does to offers at `now`: opens the scheduled ones whose start has come,
    /// ends those whose end has come, settles the ended ones that hold nothing. Returns how
    /// many changed. Safe on several nodes at once (each change is guarded by the status).
    pub async fn tick_offers(&self, now: i64) -> Result<usize, StoreError> {
        let (opened, ended) = in_tx!(self, |c| {
            let opened = sqlx::query(
                "UPDATE offers SET status = 'live', updated_at = $1 WHERE status = 'scheduled' \
                 AND starts_at <= $1 AND ends_at > $1",
            )
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
            let ended = sqlx::query(
                "UPDATE offers SET status = 'ended', updated_at = $1 WHERE status IN \
                 ('scheduled', 'live', 'paused', 'sold_out') AND ends_at <= $1",
            )
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
            Ok((opened, ended))
        })?;
        let due: Vec<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT id FROM offers WHERE status = 'ended' AND held = 0")
                .fetch_all(p)
                .await?
        });
        let mut settled = 0;
        for id in due {
            if self.settle_offer(id).await? {
                settled += 1;
            }
        }
        Ok(opened as usize + ended as usize + settled)
    }

    /// Settles the ended offers of a session that hold nothing.
    pub(crate) async fn settle_offers_of(&self, session_id: i64) -> Result<(), StoreError> {
        let due: Vec<i64> = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM offers WHERE session_id = $1 AND status = 'ended' AND held = 0",
            )
            .bind(session_id)
            .fetch_all(p)
            .await?
        });
        for id in due {
            self.settle_offer(id).await?;
        }
        Ok(())
    }

    /// Settles an ended offer that holds nothing: the unsold units go back to the stock.
    /// Returns false when it was not (yet) to settle.
    pub(crate) async fn settle_offer(&self, id: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        in_tx!(self, |c| {
            let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
                "UPDATE offers SET status = 'settled', updated_at = $1 WHERE id = $2 \
                 AND status = 'ended' AND held = 0 RETURNING sku_id, location_id, cap, sold",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
            let Some((sku, loc, cap, sold)) = row else {
                return Ok(false);
            };
            let back = cap - sold;
            if back > 0 {
                sqlx::query(
                    "UPDATE stock SET reserved = reserved - $1, updated_at = $2 \
                     WHERE sku_id = $3 AND location_id = $4",
                )
                .bind(back)
                .bind(now)
                .bind(sku)
                .bind(loc)
                .execute(&mut *c)
                .await?;
                c.record_stock_move(&LedgerEntry {
                    sku,
                    location: loc,
                    kind: MoveKind::Release,
                    on_hand: 0,
                    reserved: -back,
                    incoming: 0,
                    order: None,
                    actor: None,
                    note: Some("flash offer settled"),
                    at: now,
                })
                .await?;
            }
            Ok(true)
        })
    }
}

/// The writes of live selling, on a transaction's connection of either backend.
pub(crate) trait LiveWrites {
    /// Sets an offer's cap aside at its location: refused (naming `cap`) when less is free.
    async fn set_aside(
        &mut self,
        sku: i64,
        location: i64,
        cap: i64,
        actor: i64,
        now: i64,
    ) -> Result<(), StoreError>;
}

crate::both_dialects! {
    impl LiveWrites {
        async fn set_aside(
            &mut self,
            sku: i64,
            location: i64,
            cap: i64,
            actor: i64,
            now: i64,
        ) -> Result<(), StoreError> {
            let hit = sqlx::query(
                "UPDATE stock SET reserved = reserved + $1, updated_at = $2 \
                 WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
            )
            .bind(cap)
            .bind(now)
            .bind(sku)
            .bind(location)
            .execute(&mut *self)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::field("cap", Reason::OverTotal));
            }
            self.record_stock_move(&LedgerEntry {
                sku,
                location,
                kind: MoveKind::Reservation,
                on_hand: 0,
                reserved: cap,
                incoming: 0,
                order: None,
                actor: Some(actor),
                note: Some("set aside for a flash offer"),
                at: now,
            })
            .await
        }
    }
}
