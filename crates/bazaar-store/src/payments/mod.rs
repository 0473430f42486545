//! Payments: starting a payment for an order, and applying a provider's verified, idempotent
//! notification.
//!
//! Providers (`bazaar_integrations::payment`) verify a notification's signature; the store
//! applies what they verified. The sandbox provider is the demo's: it is labelled as a sandbox
//! wherever it appears, and its notifications go through the same signature check and the same
//! idempotent application as a real provider's would. Cash at the
//! village station and bank transfers have no provider: the agent or the operator confirms them
//! ([`Store::confirm_payment`]).

use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::Reason;
use bazaar_domain::orders::PaymentMethod;
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::time::now_ms;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A payment of an order.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Payment {
    /// Id.
    pub id: i64,
    /// Order.
    pub order_id: i64,
    /// sandbox, station_cash or bank_transfer.
    pub method: String,
    /// The provider's reference (unique).
    pub provider_ref: String,
    /// Amount, fen.
    pub amount_fen: i64,
    /// pending, succeeded or failed.
    pub status: String,
}

/// A provider's notification, after its signature was verified (by a provider of
/// `bazaar-integrations`).
pub use bazaar_domain::orders::PaymentNotification as Notification;

/// What applying a notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// The order is paid now.
    Paid,
    /// The same notification came before: nothing changed.
    Repeated,
    /// The payment failed; the order still waits.
    Failed,
    /// Paid, but the order had been cancelled meanwhile: the money is due back.
    RefundDue,
}

/// The county network's waybill of an order part: its number through the keyed
/// permutation of [`bazaar_domain::logistics::bazaar_waybill`], each round's function
/// SHA-256 of the database's `waybill_secret`, the round and the half.
pub(crate) fn own_waybill(secret: &str, part_id: i64) -> String {
    bazaar_domain::logistics::bazaar_waybill(part_id, |round, half| {
        let mut h = Sha256::new();
        h.update(secret.as_bytes());
        h.update([round]);
        h.update(half.to_le_bytes());
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_le_bytes(b)
    })
}

impl Store {
    /// The payments of an order, oldest first, for whoever may see the order (`NotFound`
    /// otherwise). A seller who is not a party sees how and whether it was paid, not the
    /// amount: a shared order's total holds the other sellers' goods.
    pub async fn order_payments(
        &self,
        actor: &Actor,
        order_id: i64,
    ) -> Result<Vec<Payment>, StoreError> {
        let o = self.order(actor, order_id).await?;
        let party = o.row.placed_by == actor.user_id || o.row.buyer_id == Some(actor.user_id);
        let mut list: Vec<Payment> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, order_id, method, provider_ref, amount_fen, status FROM payments \
                 WHERE order_id = $1 ORDER BY id",
            )
            .bind(order_id)
            .fetch_all(p)
            .await?
        });
        if actor.role == Role::Seller && !party {
            for p in &mut list {
                p.amount_fen = 0;
                p.provider_ref.clear();
            }
        }
        Ok(list)
    }

    /// Whether the sandbox provider takes payments here: as forced for this process, else
    /// only on a database loaded with demo data (its `payments_sandbox` setting). A real
    /// deployment never has it, so no buyer can mark an order paid without paying.
    pub async fn payment_sandbox(&self) -> Result<bool, StoreError> {
        if let Some(on) = self.sandbox {
            return Ok(on);
        }
        Ok(self.setting("payments_sandbox").await?.as_deref() == Some("on"))
    }

    /// The sandbox provider's secret of this database (created on first use); not found
    /// while the sandbox is off (see [`Store::payment_sandbox`]). The provider itself, which
    /// signs and verifies with it, is `bazaar_integrations::payment::Sandbox`.
    pub async fn sandbox_secret(&self) -> Result<Vec<u8>, StoreError> {
        if !self.payment_sandbox().await? {
            return Err(StoreError::NotFound);
        }
        Ok(self.secret_setting("sandbox_secret").await?.into_bytes())
    }

    /// A secret of this database kept in `settings` under `key`, created on first use (the
    /// same on every node: whoever inserts first wins).
    pub(crate) async fn secret_setting(&self, key: &str) -> Result<String, StoreError> {
        // Read first: only the very first call writes.
        if let Some(secret) = self.setting(key).await? {
            return Ok(secret);
        }
        let fresh = crate::people::auth::new_secret();
        in_tx!(self, |c| {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(key)
                .bind(&fresh)
                .execute(&mut *c)
                .await?;
            Ok(())
        })?;
        self.setting(key).await?.ok_or(StoreError::NotFound)
    }

    /// Starts paying an order: its placer (or buyer) chooses the method. Sandbox and bank
    /// transfer belong to buyers and institutions; station cash to orders placed at a station
    /// (or addressed to a service point). Returns the pending payment.
    pub async fn start_payment(
        &self,
        actor: &Actor,
        order_id: i64,
        method: PaymentMethod,
    ) -> Result<Payment, StoreError> {
        let o = self.order(actor, order_id).await?;
        if o.row.placed_by != actor.user_id && o.row.buyer_id != Some(actor.user_id) {
            return Err(StoreError::Forbidden);
        }
        if o.row.status != "pending_payment" {
            return Err(StoreError::InvalidTransition {
                from: o.row.status.clone(),
                action: "pay".into(),
            });
        }
        if method == PaymentMethod::StationCash && o.row.node_code.is_none() {
            return Err(StoreError::field("method", Reason::Inconsistent));
        }
        if method == PaymentMethod::Sandbox && !self.payment_sandbox().await? {
            return Err(StoreError::field("method", Reason::UnknownChoice));
        }
        let provider_ref = format!(
            "{}-{}",
            method.as_str(),
            &crate::people::auth::new_secret()[..24]
        );
        let now = now_ms();
        let amount = o.row.total_fen;
        let id = in_tx!(self, |c| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO payments (order_id, method, provider_ref, amount_fen, status, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) RETURNING id",
            )
            .bind(order_id)
            .bind(method.as_str())
            .bind(&provider_ref)
            .bind(amount)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            Ok(id)
        })?;
        self.payment(id).await
    }

    /// A payment by id.
    pub async fn payment(&self, id: i64) -> Result<Payment, StoreError> {
        let r: Option<Payment> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, order_id, method, provider_ref, amount_fen, status FROM payments WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// A payment by its provider reference.
    pub async fn payment_by_ref(&self, provider_ref: &str) -> Result<Payment, StoreError> {
        let r: Option<Payment> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, order_id, method, provider_ref, amount_fen, status FROM payments \
                 WHERE provider_ref = $1",
            )
            .bind(provider_ref)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// Applies a verified notification of `provider`, once: a notification id seen before
    /// changes nothing. The amount must match the payment.
    pub async fn apply_notification(
        &self,
        provider: PaymentMethod,
        n: &Notification,
    ) -> Result<Applied, StoreError> {
        let pay = self.payment_by_ref(&n.provider_ref).await?;
        if pay.method != provider.as_str() {
            return Err(StoreError::NotFound);
        }
        if n.amount_fen != pay.amount_fen {
            return Err(StoreError::Rule(bazaar_domain::ErrorCode::PaymentMismatch));
        }
        let succeeded = n.outcome == "succeeded";
        if !succeeded && n.outcome != "failed" {
            return Err(StoreError::field("outcome", Reason::UnknownChoice));
        }
        let now = now_ms();
        let first = in_tx!(self, |c| {
            let fresh = sqlx::query(
                "INSERT INTO payment_notifications (provider, notification_id, provider_ref, outcome, \
                 received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(provider.as_str())
            .bind(&n.id)
            .bind(&n.provider_ref)
            .bind(&n.outcome)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected();
            if fresh == 0 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE payments SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'pending'",
            )
            .bind(if succeeded { "succeeded" } else { "failed" })
            .bind(now)
            .bind(pay.id)
            .execute(&mut *c)
            .await?;
            Ok(true)
        })?;
        if !first {
            return Ok(Applied::Repeated);
        }
        if !succeeded {
            return Ok(Applied::Failed);
        }
        if self.mark_paid(pay.order_id, provider, None).await? {
            Ok(Applied::Paid)
        } else {
            tracing::warn!(
                order = pay.order_id,
                "payment for an order no longer waiting: refund due"
            );
            Ok(Applied::RefundDue)
        }
    }

    /// Confirms a payment that has no provider: cash at the village station (the agent of the
    /// order's service point, or an operator) or a bank transfer (an operator whose region holds
    /// the goods, or an admin).
    pub async fn confirm_payment(
        &self,
        actor: &Actor,
        payment_id: i64,
    ) -> Result<Applied, StoreError> {
        let pay = self.payment(payment_id).await?;
        let o = self.order(actor, pay.order_id).await;
        let method = PaymentMethod::parse("method", &pay.method)
            .map_err(|e| StoreError::Invalid(vec![e]))?;
        let allowed = match method {
            PaymentMethod::Sandbox => false,
            PaymentMethod::StationCash => match actor.role {
                Role::Agent => o
                    .as_ref()
                    .is_ok_and(|o| o.row.node_code.is_some() && o.row.node_code == actor.node_code),
                Role::Operator | Role::Admin => o.is_ok(),
                _ => false,
            },
            PaymentMethod::BankTransfer => {
                matches!(actor.role, Role::Operator | Role::Admin) && o.is_ok()
            }
        };
        if !allowed {
            return Err(StoreError::Forbidden);
        }
        let n = Notification {
            id: format!("confirm-{}", pay.id),
            provider_ref: pay.provider_ref.clone(),
            amount_fen: pay.amount_fen,
            outcome: "succeeded".into(),
        };
        let r = self.apply_notification(method, &n).await?;
        tracing::info!(
            payment = pay.id,
            by = actor.username,
            ?r,
            "payment confirmed"
        );
        Ok(r)
    }
}
