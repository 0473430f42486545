//! After-sales: a buyer asks for a refund within the window; the seller approves or rejects
//! with a reason; an operator whose region holds the goods can arbitrate (decide in the
//! seller's place, or overturn a rejection). An approved refund goes back by the original
//! method, and the goods return to stock through the ledger.

use crate::orders::{OrderMove, OrderWrites};
use crate::stock::{LedgerEntry, MoveKind, StockWrites};
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::Reason;
use bazaar_domain::aftersales::{
    MayNotDecide, RefundDecision, RefundStatus, refund_decider, refund_order_move,
    refund_transition,
};
use bazaar_domain::orders::{OrderEvent, OrderStatus, order_transition};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::now_ms;
use serde::Serialize;

/// How long after payment a buyer may ask for a refund: 15 days.
pub const REFUND_WINDOW_MS: i64 = 15 * 24 * 3600 * 1000;

/// A refund request.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Refund {
    /// Id.
    pub id: i64,
    /// Order.
    pub order_id: i64,
    /// requested, rejected or refunded.
    pub status: String,
    /// The buyer's reason.
    pub reason: String,
    /// The order's status before the request (where a rejection returns it).
    pub prior_status: String,
    /// The decision's reason.
    pub decision_reason: Option<String>,
    /// Decided by an operator's arbitration.
    pub arbitrated: bool,
    /// Amount refunded (the order's total), fen.
    pub amount_fen: i64,
    /// Asked at (UTC ms).
    pub created_at: i64,
    /// Storage keys of the buyer's photos, one per line.
    #[serde(skip)]
    pub photo_keys: Option<String>,
    /// The buyer's photos (addresses under `/media/`).
    #[sqlx(skip)]
    pub photos: Vec<String>,
}

impl Refund {
    fn with_photos(mut self) -> Self {
        self.photos = self
            .photo_keys
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter(|k| !k.is_empty())
            .map(|k| format!("/media/{k}"))
            .collect();
        self
    }
}

/// At most this many photos per refund request.
pub const MAX_REFUND_PHOTOS: usize = 6;

const REFUND_COLS: &str = "id, order_id, status, reason, prior_status, decision_reason, \
    arbitrated, amount_fen, created_at, photo_keys";

impl Store {
    /// The buyer (or the agent who placed it) asks for a refund of a paid order within
    /// [`REFUND_WINDOW_MS`] of payment.
    pub async fn request_refund(
        &self,
        actor: &Actor,
        order_id: i64,
        reason: &str,
    ) -> Result<Refund, StoreError> {
        let reason = bazaar_domain::error::required_text("reason", reason, 500)
            .map_err(|e| StoreError::Invalid(vec![e]))?;
        let o = self.order(actor, order_id).await?;
        if o.row.placed_by != actor.user_id && o.row.buyer_id != Some(actor.user_id) {
            return Err(StoreError::Forbidden);
        }
        let from = OrderStatus::from_db(&o.row.status).ok_or(StoreError::NotFound)?;
        let to = order_transition(from, OrderEvent::RequestRefund).ok_or_else(|| {
            StoreError::InvalidTransition {
                from: from.as_str().into(),
                action: OrderEvent::RequestRefund.as_str().into(),
            }
        })?;
        let now = now_ms();
        if o.row.paid_at.is_some_and(|p| now - p > REFUND_WINDOW_MS) {
            return Err(StoreError::Rule(
                bazaar_domain::ErrorCode::RefundWindowClosed,
            ));
        }
        let id = in_tx!(self, |c| {
            c.move_order(&OrderMove {
                order: order_id,
                from: from.as_str(),
                to: to.as_str(),
                action: OrderEvent::RequestRefund.as_str(),
                actor: Some(actor.user_id),
                reason: Some(reason.as_str()),
                at: now,
            })
            .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO refunds (order_id, status, reason, prior_status, requested_by, \
                 amount_fen, created_at) VALUES ($1, 'requested', $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(order_id)
            .bind(&reason)
            .bind(from.as_str())
            .bind(actor.user_id)
            .bind(o.row.total_fen)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            Ok(id)
        })?;
        self.refund(id).await
    }

    /// The refund requests of an order, oldest first, for whoever may see the order
    /// (`NotFound` otherwise).
    pub async fn order_refunds(
        &self,
        actor: &Actor,
        order_id: i64,
    ) -> Result<Vec<Refund>, StoreError> {
        self.order(actor, order_id).await?;
        let sql = format!("SELECT {REFUND_COLS} FROM refunds WHERE order_id = $1 ORDER BY id");
        let r: Vec<Refund> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(order_id).fetch_all(p).await?
        });
        Ok(r.into_iter().map(Refund::with_photos).collect())
    }

    /// A refund by id.
    pub async fn refund(&self, id: i64) -> Result<Refund, StoreError> {
        let sql = format!("SELECT {REFUND_COLS} FROM refunds WHERE id = $1");
        let r: Option<Refund> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        r.map(Refund::with_photos).ok_or(StoreError::NotFound)
    }

    /// Attaches stored photos to a refund request: only its requester, while it waits for a
    /// decision, at most [`MAX_REFUND_PHOTOS`] in all.
    pub async fn add_refund_photos(
        &self,
        actor: &Actor,
        refund_id: i64,
        new_keys: &[String],
    ) -> Result<Refund, StoreError> {
        self.may_add_refund_photo(actor, refund_id).await?;
        let r = self.refund(refund_id).await?;
        let mut keys: Vec<String> = r
            .photo_keys
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        for key in new_keys {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        if keys.len() > MAX_REFUND_PHOTOS {
            return Err(StoreError::field("photo", Reason::OutOfRange));
        }
        let joined = keys.join("\n");
        in_tx!(self, |c| {
            // Guarded by the old value and the status: two uploads at once never lose one.
            let hit = sqlx::query(
                "UPDATE refunds SET photo_keys = $1 WHERE id = $2 AND status = 'requested' \
                 AND COALESCE(photo_keys, '') = $3",
            )
            .bind(&joined)
            .bind(refund_id)
            .bind(r.photo_keys.as_deref().unwrap_or(""))
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::Rule(bazaar_domain::ErrorCode::RefundChanged));
            }
            Ok(())
        })?;
        self.refund(refund_id).await
    }

    /// Whether `actor` may add a photo to the refund now (checked before any image work).
    pub async fn may_add_refund_photo(
        &self,
        actor: &Actor,
        refund_id: i64,
    ) -> Result<(), StoreError> {
        let requested_by: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT requested_by FROM refunds WHERE id = $1")
                .bind(refund_id)
                .fetch_optional(p)
                .await?
        });
        if requested_by.ok_or(StoreError::NotFound)? != actor.user_id {
            return Err(StoreError::NotFound);
        }
        let r = self.refund(refund_id).await?;
        if RefundStatus::from_db(&r.status) != Some(RefundStatus::Requested) {
            return Err(StoreError::Rule(bazaar_domain::ErrorCode::RefundDecided));
        }
        if r.photos.len() >= MAX_REFUND_PHOTOS {
            return Err(StoreError::field("photo", Reason::OutOfRange));
        }
        Ok(())
    }

    /// Refund requests the caller decides on: a seller's (goods it produced), an operator's
    /// (goods of its region, including rejected ones it may overturn), all for admins.
    pub async fn refunds_to_decide(&self, actor: &Actor) -> Result<Vec<Refund>, StoreError> {
        let cols = REFUND_COLS
            .split(", ")
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let scope = format!(
            "{}%",
            actor.region_path.clone().unwrap_or_else(|| "-".into())
        );
        let filter = match actor.role {
            Role::Admin => "r.status IN ('requested','rejected')",
            // Only what the caller may decide (see `decide_refund`): every line its own, or
            // every line from its region.
            Role::Seller => {
                "r.status = 'requested' AND NOT EXISTS (SELECT 1 FROM order_lines l \
                 WHERE l.order_id = r.order_id AND l.seller_id <> $1)"
            }
            Role::Operator => {
                "r.status IN ('requested','rejected') AND NOT EXISTS (SELECT 1 FROM order_lines l \
                 JOIN regions v ON v.code = l.village_code WHERE l.order_id = r.order_id \
                 AND v.path NOT LIKE $1)"
            }
            _ => return Err(StoreError::Forbidden),
        };
        let sql = format!("SELECT {cols} FROM refunds r WHERE {filter} ORDER BY r.id LIMIT 200");
        Ok(on_read!(self, |p| {
            let mut q = sqlx::query_as(&sql);
            match actor.role {
                Role::Seller => q = q.bind(actor.seller_id.unwrap_or(-1)),
                Role::Operator => q = q.bind(&scope),
                _ => {}
            }
            let rows: Vec<Refund> = q.fetch_all(p).await?;
            rows.into_iter().map(Refund::with_photos).collect()
        }))
    }

    /// Decides on a refund. The order's seller decides a request; an operator in scope (or an
    /// admin) arbitrates a request or overturns a rejection. Approving refunds the payment by
    /// its original method, returns the goods to stock (a `return` move) and moves the order
    /// to `refunded`; rejecting (a reason is required) returns the order to where it was.
    pub async fn decide_refund(
        &self,
        actor: &Actor,
        refund_id: i64,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<Refund, StoreError> {
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from);
        if !approve && reason.is_none() {
            return Err(StoreError::field("reason", Reason::Required));
        }
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(StoreError::field("reason", Reason::TooLong));
        }
        let r = self.refund(refund_id).await?;
        // May see it; then the whole order (a seller's view holds its own lines only).
        self.order(actor, r.order_id).await?;
        let o = self.order_unchecked(r.order_id).await?;
        // A refund returns every line of the order to stock: a seller decides only when all
        // of them are its own, an operator only when all come from its region; an order of
        // several sellers (regions) goes to an operator (an admin).
        let all_in_region = || async {
            for l in &o.lines {
                let path = self.region(&l.village_code).await?.path;
                if !actor.can_manage_network(&path) {
                    return Ok::<bool, StoreError>(false);
                }
            }
            Ok(true)
        };
        let decision = if approve {
            RefundDecision::Approve
        } else {
            RefundDecision::Reject
        };
        let refused = || StoreError::InvalidTransition {
            from: r.status.clone(),
            action: decision.as_str().into(),
        };
        let from = RefundStatus::from_db(&r.status).ok_or_else(refused)?;
        let arbitration = match refund_decider(actor.role, from) {
            Ok(arbitration) => arbitration,
            Err(MayNotDecide::Forbidden) => return Err(StoreError::Forbidden),
            Err(MayNotDecide::NotNow) => return Err(refused()),
        };
        let to = refund_transition(from, decision).ok_or_else(refused)?;
        if arbitration && actor.role == Role::Operator {
            if !all_in_region().await? {
                return Err(StoreError::Forbidden);
            }
        } else if !arbitration
            && (o.lines.is_empty() || !o.lines.iter().all(|l| Some(l.seller_id) == actor.seller_id))
        {
            return Err(StoreError::Forbidden);
        }
        let prior = OrderStatus::from_db(&r.prior_status).ok_or(StoreError::NotFound)?;
        let (order_from, order_to) = refund_order_move(from, decision, prior);
        let now = now_ms();
        in_tx!(self, |c| {
            let hit = sqlx::query(
                "UPDATE refunds SET status = $1, decided_by = $2, decision_reason = $3, \
                 arbitrated = $4, decided_at = $5 WHERE id = $6 AND status = $7",
            )
            .bind(to.as_str())
            .bind(actor.user_id)
            .bind(&reason)
            .bind(arbitration)
            .bind(now)
            .bind(refund_id)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::InvalidTransition {
                    from: from.as_str().into(),
                    action: to.as_str().into(),
                });
            }
            c.move_order(&OrderMove {
                order: r.order_id,
                from: order_from.as_str(),
                to: order_to.as_str(),
                action: "refund",
                actor: Some(actor.user_id),
                reason: reason.as_deref(),
                at: now,
            })
            .await?;
            if approve {
                // The money goes back by the method it came: the succeeded payment is marked
                // refunded (the provider's refund call belongs here for a real provider).
                sqlx::query(
                    "UPDATE payments SET status = 'refunded', updated_at = $1 \
                     WHERE order_id = $2 AND status = 'succeeded'",
                )
                .bind(now)
                .bind(r.order_id)
                .execute(&mut *c)
                .await?;
                for l in &o.lines {
                    sqlx::query(
                        "UPDATE stock SET on_hand = on_hand + $1, updated_at = $2 \
                         WHERE sku_id = $3 AND location_id = $4",
                    )
                    .bind(l.quantity)
                    .bind(now)
                    .bind(l.sku_id)
                    .bind(l.location_id)
                    .execute(&mut *c)
                    .await?;
                    let note = format!("refund {refund_id}");
                    c.record_stock_move(&LedgerEntry {
                        sku: l.sku_id,
                        location: l.location_id,
                        kind: MoveKind::Return,
                        on_hand: l.quantity,
                        reserved: 0,
                        incoming: 0,
                        order: Some(r.order_id),
                        actor: Some(actor.user_id),
                        note: Some(note.as_str()),
                        at: now,
                    })
                    .await?;
                }
            }
            Ok(())
        })?;
        self.refund(refund_id).await
    }
}
