//! Orders: the order and its rows, reading them, and the typed writes other areas make
//! ([`OrderWrites`]). Placing is [`place`], the lifecycle [`lifecycle`], the sellers' side
//! [`fulfil`], addresses and shipping rules [`addresses`], bulk imports [`imports`], the
//! buyer's order cards [`cards`].

pub mod addresses;
pub mod cards;
pub mod fulfil;
pub mod imports;
pub mod lifecycle;
pub mod place;

pub use addresses::{Address, NewAddress};
pub use cards::{LatestEvent, OrderCard};
pub use fulfil::{PartLine, PartWaybill, PendingPayment, SellerPart, StationOrder};
pub use place::{
    InstitutionDetails, PlaceOrder, Placed, Quote, QuoteParcel, UNPAID_FLOOR, check_unpaid_cap,
};

use crate::db::page::{Cursor, Page, into_page, page_size};
use crate::logistics::parcels::{ParcelEventRow, ParcelRow, ParcelWrites};
use crate::stock::{LedgerEntry, MoveKind, StockWrites};
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::logistics::{Direction, ParcelState};
use bazaar_domain::orders::{
    Channel, ItemInput, LineLoad, OrderEvent, OrderStatus, PaymentMethod, PricedPart, ShipFrom,
    ShippingRule, Source, check_items, order_transition, price_parts, rank_sources,
};
use bazaar_domain::people::{Actor, Role};
use bazaar_domain::region::{RegionPath, county_of_code};
use bazaar_domain::time::now_ms;
use bazaar_domain::{FieldError, Reason};
use serde::Serialize;
use std::collections::BTreeMap;

/// A change of an order's status, with who made it, when and why: written together with
/// its history row by [`OrderWrites::move_order`].
pub(crate) struct OrderMove<'a> {
    /// The order.
    pub order: i64,
    /// The status it must be in (the guard: of two concurrent changes only one wins).
    pub from: &'a str,
    /// The status it moves to.
    pub to: &'a str,
    /// The action asked, named in the error when the order is no longer in `from`.
    pub action: &'a str,
    /// Who (none: the system, e.g. the payment deadline).
    pub actor: Option<i64>,
    /// Why, when there is a reason to keep.
    pub reason: Option<&'a str>,
    /// When (UTC ms).
    pub at: i64,
}

/// What the parcel of an order's part carries, and to whom.
#[derive(sqlx::FromRow)]
pub(crate) struct PartShipment {
    weight_g: i64,
    volume_cm3: i64,
    recipient: String,
    phone: String,
    region_code: String,
    node_code: Option<String>,
    order_id: i64,
    part_id: i64,
    seller_id: i64,
}

impl PartShipment {
    /// The parcel row of this part: `carrier`'s `waybill`, first in `state`.
    fn row<'a>(
        &'a self,
        carrier: &'a str,
        waybill: &'a str,
        direction: Direction,
        state: ParcelState,
        by: Option<i64>,
        at: i64,
    ) -> ParcelRow<'a> {
        ParcelRow {
            carrier,
            waybill,
            direction,
            weight_g: self.weight_g,
            volume_cm3: self.volume_cm3,
            cold_chain: false,
            sender_name: None,
            sender_phone: None,
            recipient_name: &self.recipient,
            recipient_phone: &self.phone,
            dest_region: Some(&self.region_code),
            dest_node: self.node_code.as_deref(),
            order_id: Some(self.order_id),
            part_id: Some(self.part_id),
            seller_id: Some(self.seller_id),
            state,
            created_by: by,
            at,
        }
    }
}

/// The writes of an order's lifecycle, on a transaction's connection of either backend.
pub(crate) trait OrderWrites {
    /// Moves an order from `m.from` to `m.to` and records the change in its history;
    /// [`StoreError::InvalidTransition`] (and nothing written) when the order is no longer
    /// in `m.from`.
    async fn move_order(&mut self, m: &OrderMove<'_>) -> Result<(), StoreError>;

    /// What a parcel of an order's part carries and where to: read when the parcel is made.
    async fn part_shipment(&mut self, part: i64) -> Result<PartShipment, StoreError>;

    /// Records the first status of a new order in its history.
    async fn record_new_order(
        &mut self,
        order: i64,
        status: &str,
        actor: Option<i64>,
        reason: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError>;
}

crate::both_dialects! {
    impl OrderWrites {
        async fn move_order(&mut self, m: &OrderMove<'_>) -> Result<(), StoreError> {
            let hit = sqlx::query(
                "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
            )
            .bind(m.to)
            .bind(m.at)
            .bind(m.order)
            .bind(m.from)
            .execute(&mut *self)
            .await?
            .rows_affected();
            if hit == 0 {
                return Err(StoreError::InvalidTransition {
                    from: m.from.into(),
                    action: m.action.into(),
                });
            }
            sqlx::query(
                "INSERT INTO order_events (order_id, from_status, to_status, actor_id, reason, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(m.order)
            .bind(m.from)
            .bind(m.to)
            .bind(m.actor)
            .bind(m.reason)
            .bind(m.at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn part_shipment(&mut self, part: i64) -> Result<PartShipment, StoreError> {
            Ok(sqlx::query_as(
                "SELECT pt.weight_g, pt.volume_cm3, o.recipient, o.phone, o.region_code, \
                 o.node_code, o.id AS order_id, pt.id AS part_id, pt.seller_id \
                 FROM order_parts pt JOIN orders o ON o.id = pt.order_id WHERE pt.id = $1",
            )
            .bind(part)
            .fetch_one(&mut *self)
            .await?)
        }

        async fn record_new_order(
            &mut self,
            order: i64,
            status: &str,
            actor: Option<i64>,
            reason: Option<&str>,
            at: i64,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO order_events (order_id, from_status, to_status, actor_id, reason, at) \
                 VALUES ($1, NULL, $2, $3, $4, $5)",
            )
            .bind(order)
            .bind(status)
            .bind(actor)
            .bind(reason)
            .bind(at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }
    }
}

/// An order header.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrderRow {
    /// Id.
    pub id: i64,
    /// The buyer's account (none for a villager ordering through a station).
    pub buyer_id: Option<i64>,
    /// Who placed it (the buyer, or the station agent).
    pub placed_by: i64,
    /// storefront, pavilion, live, station, institution or import.
    pub channel: String,
    /// Status (see the lifecycle table).
    pub status: String,
    /// Recipient.
    pub recipient: String,
    /// Recipient's phone.
    pub phone: String,
    /// Delivery region.
    pub region_code: String,
    /// Delivery service point.
    pub node_code: Option<String>,
    /// Address detail.
    pub address_detail: Option<String>,
    /// Villager's name (station-assisted orders).
    pub villager_name: Option<String>,
    /// Sum of the lines, fen.
    pub items_fen: i64,
    /// Shipping, fen.
    pub shipping_fen: i64,
    /// Total, fen.
    pub total_fen: i64,
    /// How it was paid.
    pub payment_method: Option<String>,
    /// Payment deadline (UTC ms); unpaid orders are cancelled after it.
    pub pay_by: i64,
    /// When it was paid.
    pub paid_at: Option<i64>,
    /// When it was delivered (UTC ms).
    pub delivered_at: Option<i64>,
    /// Placed at (UTC ms).
    pub created_at: i64,
    /// Institutional orders: wanted delivery date.
    pub delivery_date: Option<String>,
    /// Institutional orders: invoice title.
    pub invoice_title: Option<String>,
    /// Institutional orders: invoice taxpayer id.
    pub invoice_tax_id: Option<String>,
}

/// One line of an order.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrderLine {
    /// Id.
    pub id: i64,
    /// Part (parcel) it ships in.
    pub part_id: i64,
    /// SKU.
    pub sku_id: i64,
    /// Product.
    pub product_id: i64,
    /// Producer.
    pub seller_id: i64,
    /// household, cooperative or enterprise.
    pub seller_kind: String,
    /// The producer's poverty-alleviation status at the time of sale.
    pub poverty_status: String,
    /// Village of origin.
    pub village_code: String,
    /// Product name then.
    pub name: String,
    /// Specification then.
    pub spec: String,
    /// Unit price then, fen.
    pub unit_price_fen: i64,
    /// Units.
    pub quantity: i64,
    /// unit price × quantity, fen.
    pub line_fen: i64,
    /// Whether it counts as a poverty-alleviation purchase (certified product, or a producer
    /// registered as a poverty-alleviation household).
    pub poverty_product: bool,
    /// Weight of the line, grams.
    pub weight_g: i64,
    /// Ship-from location (stock location id).
    pub location_id: i64,
}

/// One recorded status change.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrderEventRow {
    /// From.
    pub from_status: Option<String>,
    /// To.
    pub to_status: String,
    /// Who (none for the system, e.g. the payment deadline).
    pub actor_id: Option<i64>,
    /// Why.
    pub reason: Option<String>,
    /// When (UTC ms).
    pub at: i64,
}

/// An order with its lines and history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Order {
    /// The header.
    #[serde(flatten)]
    pub row: OrderRow,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Status history, oldest first.
    pub events: Vec<OrderEventRow>,
}

/// `$1, $2, …, $n` for an `IN (…)` list.
pub(crate) fn placeholders(n: usize) -> String {
    placeholders_from(1, n)
}

/// `$first, …` for `n` parameters starting at `first`.
pub(crate) fn placeholders_from(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?, ?, …` (`n` of them) for SQLite-only statements with many parameters: SQLite finds a
/// numbered parameter's name by walking a list of all of them, so binding `$1 … $n` costs
/// O(n²) (2,800 parameters: most of a batch insert's time); anonymous ones cost nothing.
pub(crate) fn anonymous_marks(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// How long after delivery an order completes by itself when its buyer does not confirm
/// receipt: 7 days (the usual 自动确认收货 period).
pub const AUTO_COMPLETE_MS: i64 = 7 * 24 * 3600 * 1000;

const ORDER_COLS: &str = "id, buyer_id, placed_by, channel, status, recipient, phone, \
    region_code, node_code, address_detail, villager_name, items_fen, shipping_fen, total_fen, \
    payment_method, pay_by, paid_at, created_at, delivery_date, invoice_title, invoice_tax_id, \
    delivered_at";

impl Store {
    pub(crate) async fn order_unchecked(&self, id: i64) -> Result<Order, StoreError> {
        let sql = format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1");
        let row: Option<OrderRow> = on_read!(self, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        let row = row.ok_or(StoreError::NotFound)?;
        let lines: Vec<OrderLine> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, part_id, sku_id, product_id, seller_id, seller_kind, poverty_status, \
                 village_code, name, spec, unit_price_fen, quantity, line_fen, poverty_product, weight_g, \
                 location_id \
                 FROM order_lines WHERE order_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        });
        let events: Vec<OrderEventRow> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT from_status, to_status, actor_id, reason, at FROM order_events \
                 WHERE order_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        });
        Ok(Order { row, lines, events })
    }

    /// Whether `actor` may see `order`: its buyer or placer, a seller of one of its lines, an
    /// operator whose region holds one of its lines' villages, an admin.
    async fn may_see_order(&self, actor: &Actor, o: &Order) -> Result<bool, StoreError> {
        Ok(match actor.role {
            Role::Admin => true,
            _ if o.row.placed_by == actor.user_id || o.row.buyer_id == Some(actor.user_id) => true,
            Role::Seller => o.lines.iter().any(|l| Some(l.seller_id) == actor.seller_id),
            // The agent of the service point the order is addressed to (cash at the station).
            Role::Agent => o.row.node_code.is_some() && o.row.node_code == actor.node_code,
            Role::Operator => {
                let Some(scope) = &actor.region_path else {
                    return Ok(false);
                };
                for l in &o.lines {
                    if self
                        .region(&l.village_code)
                        .await?
                        .path
                        .starts_with(scope.as_str())
                    {
                        return Ok(true);
                    }
                }
                false
            }
            _ => false,
        })
    }

    /// One order, for those who may see it (others get `NotFound`).
    ///
    /// A seller who is not its buyer sees its own lines only: an order shared with another
    /// seller does not show that seller's goods.
    pub async fn order(&self, actor: &Actor, id: i64) -> Result<Order, StoreError> {
        let mut o = self.order_unchecked(id).await?;
        if !self.may_see_order(actor, &o).await? {
            return Err(StoreError::NotFound);
        }
        let party = o.row.placed_by == actor.user_id || o.row.buyer_id == Some(actor.user_id);
        if actor.role == Role::Seller && !party {
            // A seller of one part of a shared order sees its own lines, and totals of them:
            // what the other sellers sold, and for how much, is not its business.
            let before = o.lines.len();
            o.lines.retain(|l| Some(l.seller_id) == actor.seller_id);
            if o.lines.len() != before {
                let shipping: i64 = on_read!(self, |p| {
                    sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(shipping_fen), 0) AS BIGINT) FROM order_parts \
                         WHERE order_id = $1 AND seller_id = $2",
                    )
                    .bind(id)
                    .bind(actor.seller_id)
                    .fetch_one(p)
                    .await?
                });
                o.row.items_fen = o.lines.iter().map(|l| l.line_fen).sum();
                o.row.shipping_fen = shipping;
                o.row.total_fen = o.row.items_fen + o.row.shipping_fen;
            }
        }
        Ok(o)
    }

    /// The orders the caller placed or bought, newest first, paged.
    pub async fn my_orders(
        &self,
        actor: &Actor,
        cursor: Cursor,
        limit: Option<i64>,
    ) -> Result<Page<OrderRow>, StoreError> {
        let limit = page_size(limit);
        let before = if cursor.0 == 0 { i64::MAX } else { cursor.0 };
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders WHERE (placed_by = $1 OR buyer_id = $1) AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        let rows: Vec<OrderRow> = on_read!(self, |p| {
            sqlx::query_as(&sql)
                .bind(actor.user_id)
                .bind(before)
                .bind(limit + 1)
                .fetch_all(p)
                .await?
        });
        Ok(into_page(rows, limit, |o| o.id))
    }

    /// An order whose parcels have all been delivered (picked up at the service point, signed
    /// for) is delivered; nothing happens while one is still on its way or when the order is
    /// not shipped.
    pub(crate) async fn deliver_by_parcels(
        &self,
        order_id: i64,
        actor_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let open: i64 = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM parcels WHERE order_id = $1 AND state <> 'delivered'",
            )
            .bind(order_id)
            .fetch_one(p)
            .await?
        });
        if open > 0 {
            return Ok(());
        }
        let o = self.order_unchecked(order_id).await?;
        if o.row.status != OrderStatus::Shipped.as_str() {
            return Ok(());
        }
        match self
            .step_order(
                &o,
                &[OrderEvent::Deliver],
                actor_id,
                Some("parcels delivered"),
            )
            .await
        {
            Err(StoreError::InvalidTransition { .. }) => Ok(()),
            r => r,
        }
    }

    /// Marks an order paid by `method`: the reservations become sales. Guarded by the status;
    /// the caller has verified the payment. Returns false when the order was no longer
    /// waiting for payment (cancelled meanwhile).
    pub(crate) async fn mark_paid(
        &self,
        id: i64,
        method: PaymentMethod,
        actor_id: Option<i64>,
    ) -> Result<bool, StoreError> {
        let o = self.order_unchecked(id).await?;
        let now = now_ms();
        let waybill_key = self.secret_setting("waybill_secret").await?;
        in_tx!(self, |c| {
            let paid = c
                .move_order(&OrderMove {
                    order: id,
                    from: OrderStatus::PendingPayment.as_str(),
                    to: OrderStatus::Paid.as_str(),
                    action: OrderEvent::Pay.as_str(),
                    actor: actor_id,
                    reason: Some(method.as_str()),
                    at: now,
                })
                .await;
            match paid {
                Err(StoreError::InvalidTransition { .. }) => return Ok(false),
                r => r?,
            }
            sqlx::query("UPDATE orders SET paid_at = $1, payment_method = $2 WHERE id = $3")
                .bind(now)
                .bind(method.as_str())
                .bind(id)
                .execute(&mut *c)
                .await?;
            // A flash order's units were the offer's held ones: now they are sold (the stock
            // row below gives up the same units, set aside for the offer).
            let flash: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE offer_orders SET state = 'paid' WHERE order_id = $1 AND state = 'held' \
                 RETURNING offer_id, quantity",
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
            if let Some((offer, q)) = flash {
                sqlx::query("UPDATE offers SET held = held - $1, sold = sold + $1 WHERE id = $2")
                    .bind(q)
                    .bind(offer)
                    .execute(&mut *c)
                    .await?;
            }
            for l in &o.lines {
                sqlx::query(
                    "UPDATE stock SET on_hand = on_hand - $1, reserved = reserved - $1, updated_at = $2 \
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
                    kind: MoveKind::Sale,
                    on_hand: -l.quantity,
                    reserved: -l.quantity,
                    incoming: 0,
                    order: Some(id),
                    actor: actor_id,
                    note: None,
                    at: now,
                })
                .await?;
            }
            // Paying creates the parcels: one per part, on the county network's own waybill
            // until the seller hands it to an express company; same-city when the seller's
            // village is in the buyer's county.
            let parts: Vec<(i64, String)> = sqlx::query_as(
                "SELECT pt.id, s.village_code FROM order_parts pt \
                 JOIN sellers s ON s.id = pt.seller_id WHERE pt.order_id = $1 ORDER BY pt.id",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            let dest_county = county_of_code(&o.row.region_code);
            for (part, village) in parts {
                let direction = if dest_county.is_some() && county_of_code(&village) == dest_county
                {
                    Direction::SameCity
                } else {
                    Direction::Upstream
                };
                let waybill = crate::payments::own_waybill(&waybill_key, part);
                let what = c.part_shipment(part).await?;
                c.insert_parcel(&what.row(
                    bazaar_domain::logistics::BAZAAR_CARRIER,
                    &waybill,
                    direction,
                    ParcelState::AwaitingPickup,
                    None,
                    now,
                ))
                .await?;
            }
            Ok(true)
        })
    }
}
