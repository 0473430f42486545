//! Orders: moving them along their lifecycle (cancelled, expired, delivered, completed) and
//! the payment outcome that turns reservations into sales.

use super::*;

impl Store {
    /// Cancels an unpaid order (its buyer or placer; `None` for the payment deadline) and
    /// releases its reservations.
    pub async fn cancel_order(
        &self,
        actor: Option<&Actor>,
        id: i64,
        reason: Option<&str>,
    ) -> Result<Order, StoreError> {
        let o = self.order_unchecked(id).await?;
        let event = match actor {
            Some(a) => {
                if !(o.row.placed_by == a.user_id || a.role == Role::Admin) {
                    return Err(if self.may_see_order(a, &o).await? {
                        StoreError::Forbidden
                    } else {
                        StoreError::NotFound
                    });
                }
                OrderEvent::Cancel
            }
            None => OrderEvent::Expire,
        };
        let from = OrderStatus::from_db(&o.row.status).ok_or(StoreError::NotFound)?;
        let to = order_transition(from, event).ok_or_else(|| StoreError::InvalidTransition {
            from: from.as_str().into(),
            action: event.as_str().into(),
        })?;
        let now = now_ms();
        let actor_id = actor.map(|a| a.user_id);
        let reason = reason.map(str::to_string).or_else(|| {
            (event == OrderEvent::Expire).then(|| "payment deadline passed".to_string())
        });
        let released: Option<i64> = in_tx!(self, |c| {
            // The status guard makes a concurrent payment and cancellation exclusive.
            c.move_order(&OrderMove {
                order: id,
                from: from.as_str(),
                to: to.as_str(),
                action: event.as_str(),
                actor: actor_id,
                reason: reason.as_deref(),
                at: now,
            })
            .await?;
            // A flash order's units go back to its offer, not to the stock (they stay set
            // aside for the offer until it is settled); the buyer may take them again.
            let flash: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE offer_orders SET state = 'released' WHERE order_id = $1 \
                 AND state = 'held' RETURNING offer_id, quantity",
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
            if let Some((offer, q)) = flash {
                sqlx::query(
                    "UPDATE offers SET held = held - $1, updated_at = $2, status = CASE \
                     WHEN status = 'sold_out' AND ends_at > $2 THEN 'live' ELSE status END \
                     WHERE id = $3",
                )
                .bind(q)
                .bind(now)
                .bind(offer)
                .execute(&mut *c)
                .await?;
                sqlx::query(
                    "UPDATE offer_buyers SET taken = taken - $1 WHERE offer_id = $2 \
                     AND buyer_id = $3",
                )
                .bind(q)
                .bind(offer)
                .bind(o.row.placed_by)
                .execute(&mut *c)
                .await?;
                return Ok(Some(offer));
            }
            for l in &o.lines {
                sqlx::query(
                    "UPDATE stock SET reserved = reserved - $1, updated_at = $2 \
                     WHERE sku_id = $3 AND location_id = $4",
                )
                .bind(l.quantity)
                .bind(now)
                .bind(l.sku_id)
                .bind(l.location_id)
                .execute(&mut *c)
                .await?;
                c.record_stock_move(&LedgerEntry {
                    sku: l.sku_id,
                    location: l.location_id,
                    kind: MoveKind::Release,
                    on_hand: 0,
                    reserved: -l.quantity,
                    incoming: 0,
                    order: Some(id),
                    actor: actor_id,
                    note: None,
                    at: now,
                })
                .await?;
            }
            Ok(None)
        })?;
        if let Some(offer) = released {
            // An ended offer whose last hold came back is settled now.
            self.settle_offer(offer).await?;
        }
        self.order_unchecked(id).await
    }

    /// Cancels every unpaid order whose payment deadline has passed; returns how many. Run
    /// periodically by `serve`; safe on several nodes at once (each cancellation is guarded by
    /// the status).
    pub async fn expire_unpaid(&self, now: i64) -> Result<usize, StoreError> {
        let ids: Vec<i64> = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM orders WHERE status = 'pending_payment' AND pay_by < $1 \
                 ORDER BY id LIMIT 500",
            )
            .bind(now)
            .fetch_all(p)
            .await?
        });
        let mut n = 0;
        for id in ids {
            match self.cancel_order(None, id, None).await {
                Ok(_) => n += 1,
                // Paid or cancelled meanwhile (another node, a late payment).
                Err(StoreError::InvalidTransition { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Marks a shipped order delivered (the parcel reached the buyer or the village point):
    /// the agent of the service point it is addressed to, an operator whose region holds one
    /// of its lines, an admin. (Logistics scans will do the same.) Sellers may not declare
    /// their own parcels delivered.
    pub async fn mark_delivered(
        &self,
        actor: &Actor,
        id: i64,
        reason: Option<&str>,
    ) -> Result<Order, StoreError> {
        let o = self.order_unchecked(id).await?;
        if !self.may_see_order(actor, &o).await? {
            return Err(StoreError::NotFound);
        }
        if !actor.role.acts_for_villagers() {
            return Err(StoreError::Forbidden);
        }
        self.step_order(&o, &[OrderEvent::Deliver], Some(actor.user_id), reason)
            .await?;
        self.order_unchecked(id).await
    }

    /// Delivers every shipped order whose parcels have all been delivered (a catch-up for a
    /// step that failed after its scan was recorded); returns how many. Run by `serve`.
    pub async fn deliver_by_parcels_due(&self) -> Result<usize, StoreError> {
        let ids: Vec<i64> = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT o.id FROM orders o WHERE o.status = 'shipped' \
                 AND EXISTS (SELECT 1 FROM parcels p WHERE p.order_id = o.id) \
                 AND NOT EXISTS (SELECT 1 FROM parcels p WHERE p.order_id = o.id \
                 AND p.state <> 'delivered') ORDER BY o.id LIMIT 200",
            )
            .fetch_all(p)
            .await?
        });
        for id in &ids {
            self.deliver_by_parcels(*id, None).await?;
        }
        Ok(ids.len())
    }

    /// The buyer confirms receipt (确认收货): a shipped order becomes delivered and completed,
    /// a delivered one completed. Only the buyer or whoever placed the order.
    pub async fn confirm_receipt(&self, actor: &Actor, id: i64) -> Result<Order, StoreError> {
        let o = self.order_unchecked(id).await?;
        if !(o.row.placed_by == actor.user_id || o.row.buyer_id == Some(actor.user_id)) {
            return Err(if self.may_see_order(actor, &o).await? {
                StoreError::Forbidden
            } else {
                StoreError::NotFound
            });
        }
        let events: &[OrderEvent] = if o.row.status == OrderStatus::Shipped.as_str() {
            &[OrderEvent::Deliver, OrderEvent::Complete]
        } else {
            &[OrderEvent::Complete]
        };
        self.step_order(&o, events, Some(actor.user_id), Some("receipt confirmed"))
            .await?;
        self.order_unchecked(id).await
    }

    /// Completes every order delivered more than [`AUTO_COMPLETE_MS`] before `now` that its
    /// buyer did not confirm; returns how many. Run periodically by `serve`.
    pub async fn complete_delivered(&self, now: i64) -> Result<usize, StoreError> {
        let ids: Vec<i64> = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM orders WHERE status = 'delivered' AND delivered_at < $1 \
                 ORDER BY id LIMIT 500",
            )
            .bind(now - AUTO_COMPLETE_MS)
            .fetch_all(p)
            .await?
        });
        let mut n = 0;
        for id in ids {
            let o = self.order_unchecked(id).await?;
            match self
                .step_order(
                    &o,
                    &[OrderEvent::Complete],
                    None,
                    Some("confirmation window passed"),
                )
                .await
            {
                Ok(()) => n += 1,
                Err(StoreError::InvalidTransition { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Applies `events` to an order one after the other in one transaction, each through the
    /// lifecycle table and guarded by the status it starts from, each recorded.
    pub(crate) async fn step_order(
        &self,
        o: &Order,
        events: &[OrderEvent],
        actor_id: Option<i64>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut from = OrderStatus::from_db(&o.row.status).ok_or(StoreError::NotFound)?;
        let mut steps = Vec::with_capacity(events.len());
        for e in events {
            let to = order_transition(from, *e).ok_or_else(|| StoreError::InvalidTransition {
                from: from.as_str().into(),
                action: e.as_str().into(),
            })?;
            steps.push((from, *e, to));
            from = to;
        }
        let now = now_ms();
        let id = o.row.id;
        let reason = reason.map(str::to_string);
        in_tx!(self, |c| {
            for (from, event, to) in &steps {
                c.move_order(&OrderMove {
                    order: id,
                    from: from.as_str(),
                    to: to.as_str(),
                    action: event.as_str(),
                    actor: actor_id,
                    reason: reason.as_deref(),
                    at: now,
                })
                .await?;
                if *to == OrderStatus::Delivered {
                    sqlx::query("UPDATE orders SET delivered_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                }
            }
            Ok(())
        })
    }
}
