//! Orders: what sellers send (their parts, shipping with waybills), what stations placed,
//! and payments waiting for a person's confirmation.

use super::*;
use crate::bind_params;
use crate::db::find::{Needle, order_clause};
use crate::db::page::Param;

/// The waybill a seller gives a part when handing it to a carrier.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct PartWaybill {
    /// The part.
    pub part_id: i64,
    /// Carrier code.
    pub carrier: String,
    /// Waybill number.
    pub waybill: String,
}

/// A seller's part of an order: what one parcel from this seller carries.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SellerPart {
    /// Part id.
    pub part_id: i64,
    /// Order id.
    pub order_id: i64,
    /// The order's status.
    pub order_status: String,
    /// open or shipped.
    pub part_status: String,
    /// Order placed at (UTC ms).
    pub created_at: i64,
    /// Recipient.
    pub recipient: String,
    /// Delivery region.
    pub region_code: String,
    /// Delivery service point.
    pub node_code: Option<String>,
    /// Parcel weight, grams.
    pub weight_g: i64,
    /// The seller's lines, fen.
    pub items_fen: i64,
    /// The recipient's phone: whole while the part is to be sent (the carrier's label needs
    /// it), masked once it has gone.
    pub phone: String,
    /// Street, house, or the service point's name and address.
    pub address_detail: Option<String>,
    /// The carrier of its parcel, once it has one.
    pub carrier: Option<String>,
    /// The waybill of its parcel, once it has one.
    pub waybill: Option<String>,
    /// What goes in the parcel.
    #[sqlx(skip)]
    pub lines: Vec<PartLine>,
}

/// One line of a seller's part: what to put in the parcel.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PartLine {
    /// The part.
    #[serde(skip)]
    pub part_id: i64,
    /// Product name.
    pub name: String,
    /// Option.
    pub spec: String,
    /// Units.
    pub quantity: i64,
}

/// An order as a station sees it (placed there, or addressed to its service point).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StationOrder {
    /// Order id.
    pub id: i64,
    /// Status.
    pub status: String,
    /// Channel.
    pub channel: String,
    /// Villager (station orders) or recipient.
    pub recipient: String,
    /// Villager's name, for station orders.
    pub villager_name: Option<String>,
    /// Total, fen.
    pub total_fen: i64,
    /// Placed at (UTC ms).
    pub created_at: i64,
    /// A payment waiting for the agent's confirmation (cash at the station), if any.
    pub pending_payment_id: Option<i64>,
}

/// A payment waiting for someone to confirm it (cash at a station, a bank transfer).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PendingPayment {
    /// Payment id.
    pub id: i64,
    /// Order id.
    pub order_id: i64,
    /// station_cash or bank_transfer.
    pub method: String,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Recipient of the order.
    pub recipient: String,
    /// Service point of the order.
    pub node_code: Option<String>,
    /// Started at (UTC ms).
    pub created_at: i64,
}

impl Store {
    /// The parts of orders a seller has to send, newest first, with their lines: at most
    /// `limit` (1 to 200), of orders before `before` (an order id) when given, optionally of
    /// one order status and matching a search (see [`order_clause`]).
    pub async fn seller_parts(
        &self,
        actor: &Actor,
        status: Option<OrderStatus>,
        before: Option<i64>,
        needle: Option<&Needle>,
        limit: i64,
    ) -> Result<Vec<SellerPart>, StoreError> {
        let Some(seller_id) = actor.seller_id.filter(|_| actor.role == Role::Seller) else {
            return Err(StoreError::Forbidden);
        };
        let mut sql = String::from(
            "SELECT pt.id AS part_id, o.id AS order_id, o.status AS order_status, \
             pt.status AS part_status, o.created_at, o.recipient, o.region_code, o.node_code, \
             pt.weight_g, (SELECT CAST(COALESCE(SUM(l.line_fen), 0) AS BIGINT) FROM order_lines l \
             WHERE l.part_id = pt.id) AS items_fen, o.phone, o.address_detail, \
             (SELECT pc.carrier FROM parcels pc WHERE pc.part_id = pt.id ORDER BY pc.id DESC \
             LIMIT 1) AS carrier, (SELECT pc.waybill FROM parcels pc WHERE pc.part_id = pt.id \
             ORDER BY pc.id DESC LIMIT 1) AS waybill \
             FROM order_parts pt JOIN orders o ON o.id = pt.order_id WHERE pt.seller_id = $1 \
             AND o.id < $2",
        );
        let mut params = vec![Param::I(seller_id), Param::I(before.unwrap_or(i64::MAX))];
        if let Some(st) = status {
            params.push(Param::S(st.as_str().into()));
            sql.push_str(&format!(" AND o.status = ${}", params.len()));
        }
        if let Some(n) = needle {
            sql.push_str(" AND ");
            sql.push_str(&order_clause(n, &mut params));
        }
        sql.push_str(&format!(
            " ORDER BY o.id DESC LIMIT {}",
            limit.clamp(1, 200)
        ));
        let mut parts: Vec<SellerPart> = on_read!(self, |p| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(p)
                .await?
        });
        if parts.is_empty() {
            return Ok(parts);
        }
        let ids: Vec<i64> = parts.iter().map(|p| p.part_id).collect();
        let lines: Vec<PartLine> = on_read!(self, |p| {
            let sql = format!(
                "SELECT part_id, name, spec, quantity FROM order_lines WHERE part_id IN ({}) \
                 ORDER BY id",
                placeholders(ids.len())
            );
            let mut q = sqlx::query_as(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        let mut by_part: BTreeMap<i64, Vec<PartLine>> = BTreeMap::new();
        for l in lines {
            by_part.entry(l.part_id).or_default().push(l);
        }
        for p in &mut parts {
            p.lines = by_part.remove(&p.part_id).unwrap_or_default();
            let to_send =
                p.part_status == "open" && matches!(p.order_status.as_str(), "paid" | "fulfilling");
            if !to_send {
                p.phone = bazaar_domain::text::mask_phone(&p.phone);
            }
        }
        Ok(parts)
    }

    /// The orders of the caller's area, newest first, one page at a time: an admin's all, an
    /// operator's those with goods from its region, an agent's those placed at or addressed
    /// to its service point; optionally of one status and matching a search (see
    /// [`order_clause`]). Sellers have [`Store::seller_parts`]; others are refused.
    pub async fn orders_in_scope(
        &self,
        actor: &Actor,
        status: Option<OrderStatus>,
        needle: Option<&Needle>,
        cursor: Cursor,
        limit: Option<i64>,
    ) -> Result<Page<OrderRow>, StoreError> {
        let limit = page_size(limit);
        let before = if cursor.0 == 0 { i64::MAX } else { cursor.0 };
        let mut sql = format!("SELECT {ORDER_COLS} FROM orders o WHERE o.id < $1");
        let mut params = vec![Param::I(before)];
        match actor.role {
            Role::Admin => {}
            Role::Operator => {
                params.push(Param::S(crate::logistics::watch::scope_like(actor)));
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM order_lines l JOIN regions v ON v.code = \
                     l.village_code WHERE l.order_id = o.id AND v.path LIKE ${})",
                    params.len()
                ));
            }
            Role::Agent => {
                params.push(Param::I(actor.user_id));
                params.push(Param::S(
                    actor.node_code.clone().unwrap_or_else(|| "-".into()),
                ));
                sql.push_str(&format!(
                    " AND (o.placed_by = ${} OR o.node_code = ${})",
                    params.len() - 1,
                    params.len()
                ));
            }
            _ => return Err(StoreError::Forbidden),
        }
        if let Some(st) = status {
            params.push(Param::S(st.as_str().into()));
            sql.push_str(&format!(" AND o.status = ${}", params.len()));
        }
        if let Some(n) = needle {
            sql.push_str(" AND ");
            sql.push_str(&order_clause(n, &mut params));
        }
        params.push(Param::I(limit + 1));
        sql.push_str(&format!(" ORDER BY o.id DESC LIMIT ${}", params.len()));
        let rows: Vec<OrderRow> = on_read!(self, |p| {
            bind_params!(sqlx::query_as(&sql), params)
                .fetch_all(p)
                .await?
        });
        Ok(into_page(rows, limit, |o| o.id))
    }

    /// Marks the seller's parts as handed to the carrier (bulk). A part ships only when its
    /// order is paid (or being packed); when every part of an order has shipped, the order
    /// becomes `shipped`. Returns the ids that shipped; the others are refused by the rule.
    pub async fn ship_parts(
        &self,
        actor: &Actor,
        part_ids: &[i64],
        waybills: &[PartWaybill],
    ) -> Result<Vec<i64>, StoreError> {
        let Some(seller_id) = actor.seller_id.filter(|_| actor.role == Role::Seller) else {
            return Err(StoreError::Forbidden);
        };
        if part_ids.is_empty() || part_ids.len() > 200 {
            return Err(StoreError::field("part_ids", Reason::OutOfRange));
        }
        // Waybills: each in its carrier's format, for a part being shipped, not yet registered.
        let mut errs = Vec::new();
        let mut parcels: BTreeMap<i64, (String, String)> = BTreeMap::new();
        for (i, w) in waybills.iter().enumerate() {
            match bazaar_domain::logistics::check_waybill(&w.carrier, &w.waybill) {
                Ok(n) if part_ids.contains(&w.part_id) => {
                    let taken: Option<i64> = on_read!(self, |p| {
                        sqlx::query_scalar(
                            "SELECT id FROM parcels WHERE carrier = $1 AND waybill = $2",
                        )
                        .bind(&w.carrier)
                        .bind(&n)
                        .fetch_optional(p)
                        .await?
                    });
                    if taken.is_some() {
                        errs.push(FieldError::new(
                            format!("waybills[{i}].waybill"),
                            Reason::Duplicate,
                        ));
                    }
                    parcels.insert(w.part_id, (w.carrier.clone(), n));
                }
                Ok(_) => errs.push(FieldError::new(
                    format!("waybills[{i}].part_id"),
                    Reason::Inconsistent,
                )),
                Err(e) => errs.push(FieldError::new(
                    format!("waybills[{i}].{}", e.field),
                    e.reason,
                )),
            }
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        let now = now_ms();
        let user = actor.user_id;
        in_tx!(self, |c| {
            let mut shipped = vec![];
            for id in part_ids {
                let hit = sqlx::query(
                    "UPDATE order_parts SET status = 'shipped', shipped_at = $1 WHERE id = $2 \
                     AND seller_id = $3 AND status = 'open' AND order_id IN \
                     (SELECT id FROM orders WHERE status IN ('paid', 'fulfilling'))",
                )
                .bind(now)
                .bind(id)
                .bind(seller_id)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if hit == 0 {
                    continue;
                }
                shipped.push(*id);
                if let Some((carrier, waybill)) = parcels.get(id) {
                    // The part's parcel, handed to its carrier: tracked from now on. The
                    // county network's waybill given at payment gives way to the carrier's.
                    let existing: Option<i64> = sqlx::query_scalar(
                        "UPDATE parcels SET carrier = $1, waybill = $2, direction = 'upstream', \
                         state = 'in_transit', last_event_at = $3, updated_at = $3 \
                         WHERE part_id = $4 AND carrier = 'bazaar' RETURNING id",
                    )
                    .bind(carrier)
                    .bind(waybill)
                    .bind(now)
                    .bind(id)
                    .fetch_optional(&mut *c)
                    .await?;
                    let parcel_id: i64 = match existing {
                        Some(p) => p,
                        None => {
                            let what = c.part_shipment(*id).await?;
                            c.insert_parcel(&what.row(
                                carrier,
                                waybill,
                                Direction::Upstream,
                                ParcelState::InTransit,
                                Some(user),
                                now,
                            ))
                            .await?
                        }
                    };
                    c.insert_parcel_event(&ParcelEventRow {
                        parcel: parcel_id,
                        source: "scan",
                        code: "handed_to_trunk_carrier",
                        state: Some(ParcelState::InTransit.as_str()),
                        place: None,
                        node: None,
                        actor: Some(user),
                        client_id: None,
                        note: None,
                        at: now,
                        received_at: now,
                    })
                    .await?;
                }
                let (order_id, open): (i64, i64) = sqlx::query_as(
                    "SELECT pt.order_id, (SELECT COUNT(*) FROM order_parts x \
                     WHERE x.order_id = pt.order_id AND x.status = 'open') FROM order_parts pt \
                     WHERE pt.id = $1",
                )
                .bind(id)
                .fetch_one(&mut *c)
                .await?;
                if open > 0 {
                    continue;
                }
                let from: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
                    .bind(order_id)
                    .fetch_one(&mut *c)
                    .await?;
                let Some(to) =
                    OrderStatus::from_db(&from).and_then(|f| order_transition(f, OrderEvent::Ship))
                else {
                    continue;
                };
                // The history row only with the change it records: a concurrent cancellation
                // that moved the order first leaves nothing to record.
                let moved = c
                    .move_order(&OrderMove {
                        order: order_id,
                        from: &from,
                        to: to.as_str(),
                        action: OrderEvent::Ship.as_str(),
                        actor: Some(user),
                        reason: None,
                        at: now,
                    })
                    .await;
                match moved {
                    Err(StoreError::InvalidTransition { .. }) => continue,
                    r => r?,
                }
            }
            Ok(shipped)
        })
    }

    /// The orders of a station agent's service point: placed there for villagers (代买) or
    /// addressed to it; newest first, at most 200.
    pub async fn station_orders(&self, actor: &Actor) -> Result<Vec<StationOrder>, StoreError> {
        let Some(node) = actor
            .node_code
            .clone()
            .filter(|_| actor.role == Role::Agent)
        else {
            return Err(StoreError::Forbidden);
        };
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT o.id, o.status, o.channel, o.recipient, o.villager_name, o.total_fen, \
                 o.created_at, (SELECT MIN(y.id) FROM payments y WHERE y.order_id = o.id \
                 AND y.method = 'station_cash' AND y.status = 'pending') AS pending_payment_id \
                 FROM orders o WHERE o.node_code = $1 ORDER BY o.id DESC LIMIT 200",
            )
            .bind(&node)
            .fetch_all(p)
            .await?
        }))
    }

    /// Payments waiting for the caller's confirmation: an agent's station cash; an operator's
    /// station cash and bank transfers for goods of its region; everything for admins.
    pub async fn pending_confirmations(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PendingPayment>, StoreError> {
        let base = "SELECT y.id, y.order_id, y.method, y.amount_fen, o.recipient, o.node_code, \
                    y.created_at FROM payments y JOIN orders o ON o.id = y.order_id \
                    WHERE y.status = 'pending' AND y.method IN ('station_cash', 'bank_transfer') \
                    AND o.status = 'pending_payment'";
        let (sql, bind) = match actor.role {
            Role::Admin => (format!("{base} ORDER BY y.id LIMIT 200"), None),
            Role::Agent => (
                format!(
                    "{base} AND y.method = 'station_cash' AND o.node_code = $1 ORDER BY y.id LIMIT 200"
                ),
                actor.node_code.clone(),
            ),
            Role::Operator => (
                format!(
                    "{base} AND EXISTS (SELECT 1 FROM order_lines l JOIN regions v \
                     ON v.code = l.village_code WHERE l.order_id = o.id AND v.path LIKE $1) \
                     ORDER BY y.id LIMIT 200"
                ),
                actor.region_path.as_ref().map(|p| format!("{p}%")),
            ),
            _ => return Err(StoreError::Forbidden),
        };
        if actor.role != Role::Admin && bind.is_none() {
            return Ok(vec![]);
        }
        Ok(on_read!(self, |p| {
            let mut q = sqlx::query_as(&sql);
            if let Some(b) = &bind {
                q = q.bind(b);
            }
            q.fetch_all(p).await?
        }))
    }

    /// A SKU id by its code.
    pub async fn sku_id_by_code(&self, code: &str) -> Result<i64, StoreError> {
        let r: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT id FROM skus WHERE code = $1")
                .bind(code.trim())
                .fetch_optional(p)
                .await?
        });
        r.ok_or(StoreError::NotFound)
    }
}
