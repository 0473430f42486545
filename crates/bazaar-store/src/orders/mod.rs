//! Orders: placing (reserving stock, all lines or none), reading, cancelling, expiring unpaid
//! orders, and the payment outcome that turns reservations into sales.

pub mod imports;

use crate::db::page::{Cursor, Page, into_page, page_size};
use crate::logistics::parcels::{ParcelEventRow, ParcelRow, ParcelWrites};
use crate::stock::{LedgerEntry, MoveKind, StockWrites};
use crate::{Store, StoreError, in_tx, on_read};
use bazaar_domain::logistics::{Direction, ParcelState};
use bazaar_domain::orders::{
    Channel, ItemInput, OrderEvent, OrderStatus, PaymentMethod, ShippingRule, chargeable_weight_g,
    check_items, order_transition,
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

/// A delivery address.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Address {
    /// Id.
    pub id: i64,
    /// Recipient.
    pub recipient: String,
    /// Phone (masked on pages that do not need it).
    pub phone: String,
    /// Region (down to the village for rural addresses).
    pub region_code: String,
    /// Village service point to deliver to, if any.
    pub node_code: Option<String>,
    /// Street, house number.
    pub detail: Option<String>,
    /// The buyer's default.
    pub is_default: bool,
}

/// A new address, checked.
#[derive(Debug, Clone)]
pub struct NewAddress {
    /// Recipient.
    pub recipient: String,
    /// Phone (digits).
    pub phone: String,
    /// Region code.
    pub region_code: String,
    /// Service point.
    pub node_code: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// Make it the default.
    pub is_default: bool,
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

/// What to place.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// Items.
    pub items: Vec<ItemInput>,
    /// Delivery address of the placer; the default one when `None`.
    pub address_id: Option<i64>,
    /// Channel.
    pub channel: Channel,
    /// The client's idempotency key: the same key returns the same order.
    pub idempotency_key: Option<String>,
    /// Villager (station-assisted orders).
    pub villager_name: Option<String>,
    /// Villager's ID-card tail or phone.
    pub villager_ref: Option<String>,
    /// How long the order waits for payment, ms.
    pub pay_window_ms: i64,
    /// Institutional orders: the wanted delivery date, invoice title and tax id.
    pub institution: Option<InstitutionDetails>,
}

/// What an institutional buyer adds to an order (消费扶贫).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionDetails {
    /// Wanted delivery date, `YYYY-MM-DD`.
    pub delivery_date: String,
    /// Invoice title (the institution's name).
    pub invoice_title: String,
    /// Taxpayer id of the invoice.
    pub invoice_tax_id: String,
}

/// The outcome of placing: the order, and whether it already existed for this key.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The order.
    pub order: Order,
    /// True when the idempotency key matched an earlier order (nothing new was reserved).
    pub replayed: bool,
}

#[derive(sqlx::FromRow)]
struct SkuInfo {
    sku_id: i64,
    product_id: i64,
    status: String,
    name: String,
    spec: String,
    price_fen: i64,
    weight_g: i64,
    seller_id: i64,
    seller_kind: String,
    poverty_status: String,
    village_code: String,
    volume_cm3: i64,
    cold_chain: bool,
    poverty_cert_no: Option<String>,
}

/// Groups an order's lines into parts by seller and ship-from location (`chosen[i]` is line
/// `i`'s location and its county's rule) and prices each part on its chargeable weight:
/// the parts with their line indices, and per part (weight g, volume cm³, fee fen).
fn price_parts(
    infos: &[(SkuInfo, i64)],
    chosen: &[(i64, ShippingRule)],
) -> (PartMap, Vec<(i64, i64, i64)>) {
    let mut parts: PartMap = BTreeMap::new();
    for (i, (info, _)) in infos.iter().enumerate() {
        if let Some((loc, _)) = chosen.get(i) {
            parts.entry((info.seller_id, *loc)).or_default().push(i);
        }
    }
    let mut fees = Vec::with_capacity(parts.len());
    for idx in parts.values() {
        let weight: i64 = idx.iter().map(|i| infos[*i].0.weight_g * infos[*i].1).sum();
        let volume: i64 = idx
            .iter()
            .map(|i| infos[*i].0.volume_cm3 * infos[*i].1)
            .sum();
        let cold = idx.iter().any(|i| infos[*i].0.cold_chain);
        let fee = chosen[idx[0]]
            .1
            .fee(chargeable_weight_g(weight, volume), cold);
        fees.push((weight, volume, fee));
    }
    (parts, fees)
}

/// The fast placement missed: roll back and reserve place by place (never leaves the store).
const RETRY_CAREFULLY: bazaar_domain::ErrorCode = bazaar_domain::ErrorCode::RetryCarefully;

/// Order parts: (seller, ship-from location) → line indices.
type PartMap = BTreeMap<(i64, i64), Vec<usize>>;

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

/// The county code of a stored region path, or its deepest code when the path is above the
/// county level (see [`RegionPath::county_or_deepest`]).
fn county_of(path: &str) -> String {
    RegionPath::new(path)
        .map(|p| p.county_or_deepest().to_string())
        .unwrap_or_default()
}

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

/// How long after delivery an order completes by itself when its buyer does not confirm
/// receipt: 7 days (the usual 自动确认收货 period).
pub const AUTO_COMPLETE_MS: i64 = 7 * 24 * 3600 * 1000;

const ORDER_COLS: &str = "id, buyer_id, placed_by, channel, status, recipient, phone, \
    region_code, node_code, address_detail, villager_name, items_fen, shipping_fen, total_fen, \
    payment_method, pay_by, paid_at, created_at, delivery_date, invoice_title, invoice_tax_id, \
    delivered_at";

impl Store {
    /// Adds a delivery address for `actor`. The region must exist; a service point must lie
    /// inside it.
    pub async fn add_address(&self, actor: &Actor, a: &NewAddress) -> Result<Address, StoreError> {
        let region = self.region(&a.region_code).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field("region_code", Reason::UnknownReference),
            e => e,
        })?;
        if let Some(n) = &a.node_code {
            let node = self.node(n).await.map_err(|e| match e {
                StoreError::NotFound => StoreError::field("node_code", Reason::UnknownReference),
                e => e,
            })?;
            let node_region = self.region(&node.region_code).await?;
            if !node_region.path.starts_with(&region.path) {
                return Err(StoreError::field("node_code", Reason::Inconsistent));
            }
        }
        let now = now_ms();
        let user = actor.user_id;
        let id = in_tx!(self, |c| {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = $1")
                .bind(user)
                .fetch_one(&mut *c)
                .await?;
            if n >= 50 {
                return Err(StoreError::field("address", Reason::OutOfRange));
            }
            let default = a.is_default || n == 0;
            if default {
                sqlx::query("UPDATE addresses SET is_default = FALSE WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *c)
                    .await?;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO addresses (user_id, recipient, phone, region_code, node_code, detail, \
                 is_default, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(user)
            .bind(&a.recipient)
            .bind(&a.phone)
            .bind(&a.region_code)
            .bind(&a.node_code)
            .bind(&a.detail)
            .bind(default)
            .bind(now)
            .fetch_one(&mut *c)
            .await?;
            Ok(id)
        })?;
        self.address(actor, id).await
    }

    /// The caller's addresses, default first.
    pub async fn addresses(&self, actor: &Actor) -> Result<Vec<Address>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, recipient, phone, region_code, node_code, detail, is_default \
                 FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, id",
            )
            .bind(actor.user_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// One of the caller's addresses.
    pub async fn address(&self, actor: &Actor, id: i64) -> Result<Address, StoreError> {
        let r: Option<Address> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, recipient, phone, region_code, node_code, detail, is_default \
                 FROM addresses WHERE id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(actor.user_id)
            .fetch_optional(p)
            .await?
        });
        r.ok_or(StoreError::NotFound)
    }

    /// Sets a shipping rule of a county (operators of the county, admins). `dest_province` is a
    /// province code or `*`.
    pub async fn set_shipping_rule(
        &self,
        actor: Option<&Actor>,
        origin_county: &str,
        dest_province: &str,
        r: &ShippingRule,
    ) -> Result<(), StoreError> {
        let county = self.region(origin_county).await.map_err(|e| match e {
            StoreError::NotFound => StoreError::field("origin_county", Reason::UnknownReference),
            e => e,
        })?;
        if county.level != "county" {
            return Err(StoreError::field("origin_county", Reason::Inconsistent));
        }
        if let Some(a) = actor
            && !a.can_manage_network(&county.path)
        {
            return Err(StoreError::Forbidden);
        }
        let now = now_ms();
        in_tx!(self, |c| {
            sqlx::query(
                "INSERT INTO shipping_rules (origin_county, dest_province, first_weight_g, \
                 first_fee_fen, extra_unit_g, extra_fee_fen, cold_chain_fee_fen, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (origin_county, dest_province) \
                 DO UPDATE SET first_weight_g = excluded.first_weight_g, \
                 first_fee_fen = excluded.first_fee_fen, extra_unit_g = excluded.extra_unit_g, \
                 extra_fee_fen = excluded.extra_fee_fen, \
                 cold_chain_fee_fen = excluded.cold_chain_fee_fen, updated_at = excluded.updated_at",
            )
            .bind(origin_county)
            .bind(dest_province)
            .bind(r.first_weight_g)
            .bind(r.first_fee_fen)
            .bind(r.extra_unit_g)
            .bind(r.extra_fee_fen)
            .bind(r.cold_chain_fee_fen)
            .bind(now)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    }

    async fn shipping_rule(
        &self,
        origin_county: &str,
        dest_province: &str,
    ) -> Result<Option<ShippingRule>, StoreError> {
        let r: Option<(i64, i64, i64, i64, i64)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT first_weight_g, first_fee_fen, extra_unit_g, extra_fee_fen, cold_chain_fee_fen \
                 FROM shipping_rules WHERE origin_county = $1 AND dest_province IN ($2, '*') \
                 ORDER BY CASE WHEN dest_province = '*' THEN 1 ELSE 0 END LIMIT 1",
            )
            .bind(origin_county)
            .bind(dest_province)
            .fetch_optional(p)
            .await?
        });
        Ok(r.map(|(a, b, c, d, e)| ShippingRule {
            first_weight_g: a,
            first_fee_fen: b,
            extra_unit_g: c,
            extra_fee_fen: d,
            cold_chain_fee_fen: e,
        }))
    }

    async fn order_for_key(&self, placed_by: i64, key: &str) -> Result<Option<i64>, StoreError> {
        Ok(on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM orders WHERE placed_by = $1 AND idempotency_key = $2",
            )
            .bind(placed_by)
            .bind(key)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Places an order: checks the items, prices and address, splits it by seller and
    /// ship-from location, prices the shipping by the origin county's rules, and reserves every
    /// line with one conditional update each — all lines or none. The same idempotency key
    /// returns the earlier order and reserves nothing more.
    pub async fn place_order(&self, actor: &Actor, o: &PlaceOrder) -> Result<Placed, StoreError> {
        if let Some(key) = &o.idempotency_key
            && let Some(id) = self.order_for_key(actor.user_id, key).await?
        {
            return Ok(Placed {
                order: self.order_unchecked(id).await?,
                replayed: true,
            });
        }
        let items = check_items(&o.items).map_err(StoreError::Invalid)?;
        let station = o.channel == Channel::Station;
        if station && actor.role != Role::Agent {
            return Err(StoreError::Forbidden);
        }
        if (o.channel == Channel::Institution) != (actor.role == Role::Institution) {
            return Err(if actor.role == Role::Institution {
                StoreError::field("channel", Reason::Inconsistent)
            } else {
                StoreError::Forbidden
            });
        }
        if o.channel == Channel::Institution && o.institution.is_none() {
            return Err(StoreError::field("delivery_date", Reason::Needed));
        }
        // The address: a station order without one goes to the agent's own service point.
        let station_address = match (station, o.address_id, &actor.node_code) {
            (true, None, Some(node)) => {
                let n = self.node(node).await?;
                let phone = o
                    .villager_ref
                    .clone()
                    .filter(|r| r.len() == 11 && r.bytes().all(|b| b.is_ascii_digit()))
                    .or(n.contact_phone.clone())
                    .unwrap_or_default();
                Some(Address {
                    id: 0,
                    recipient: o.villager_name.clone().unwrap_or_else(|| n.name.clone()),
                    phone,
                    region_code: n.region_code.clone(),
                    node_code: Some(n.code.clone()),
                    detail: Some(format!(
                        "{} {}",
                        n.name,
                        n.address.clone().unwrap_or_default()
                    )),
                    is_default: false,
                })
            }
            _ => None,
        };
        let address = match (station_address, o.address_id) {
            (Some(a), _) => a,
            (None, Some(id)) => self.address(actor, id).await.map_err(|e| match e {
                StoreError::NotFound => StoreError::field("address_id", Reason::UnknownReference),
                e => e,
            })?,
            (None, None) => self
                .addresses(actor)
                .await?
                .into_iter()
                .next()
                .ok_or(StoreError::Rule(bazaar_domain::ErrorCode::NoDefaultAddress))?,
        };
        let dest = self.region(&address.region_code).await?;
        let dest_province = RegionPath::new(&dest.path)
            .and_then(|p| p.province().map(str::to_string))
            .unwrap_or_default();
        // The SKUs as they are now, in one query.
        let ids: Vec<i64> = items.iter().map(|it| it.sku_id).collect();
        let found: Vec<SkuInfo> = on_read!(self, |p| {
            let sql = format!(
                "SELECT k.id AS sku_id, p.id AS product_id, p.status, p.name, k.spec, k.price_fen, \
                 k.weight_g, k.volume_cm3, s.id AS seller_id, s.kind AS seller_kind, \
                 s.poverty_status, p.village_code, p.cold_chain, p.poverty_cert_no \
                 FROM skus k JOIN products p ON p.id = k.product_id \
                 JOIN sellers s ON s.id = p.seller_id WHERE k.id IN ({})",
                placeholders(ids.len())
            );
            let mut q = sqlx::query_as(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        let mut found: BTreeMap<i64, SkuInfo> = found.into_iter().map(|i| (i.sku_id, i)).collect();
        let mut infos = Vec::with_capacity(items.len());
        let mut errs = vec![];
        let mut changed = vec![];
        for (i, it) in items.iter().enumerate() {
            match found.remove(&it.sku_id) {
                None => errs.push(FieldError::new(
                    format!("items[{i}].sku_id"),
                    Reason::UnknownReference,
                )),
                Some(info) if info.status != "listed" => {
                    return Err(StoreError::Rule(bazaar_domain::ErrorCode::ProductNotListed));
                }
                Some(info) => {
                    if let Some(seen) = it.expected_price_fen
                        && seen != info.price_fen
                    {
                        changed.push((info.sku_id, seen, info.price_fen));
                    }
                    infos.push((info, it.quantity));
                }
            }
        }
        if !errs.is_empty() {
            return Err(StoreError::Invalid(errs));
        }
        if !changed.is_empty() {
            return Err(StoreError::PriceChanged(changed));
        }
        // Where each line may ship from: the locations holding some of it, those in the
        // destination's own county first (a village point or county warehouse near the buyer),
        // then the seller's home, then the rest; only those whose county has a shipping rule
        // for the destination.
        let dest_county = county_of(&dest.path);
        let candidates: Vec<(i64, i64, bool, String)> = on_read!(self, |p| {
            let sql = format!(
                "SELECT st.sku_id, st.location_id, l.seller_id IS NOT NULL AS home, r.path \
                 FROM stock st JOIN stock_locations l ON l.id = st.location_id \
                 JOIN regions r ON r.code = l.region_code \
                 WHERE st.on_hand - st.reserved > 0 AND st.sku_id IN ({}) \
                 ORDER BY st.sku_id, st.location_id",
                placeholders(ids.len())
            );
            let mut q = sqlx::query_as(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await?
        });
        let mut rules: BTreeMap<String, Option<ShippingRule>> = BTreeMap::new();
        let mut sources: BTreeMap<i64, Vec<(i64, ShippingRule)>> = BTreeMap::new();
        let mut unserved = false;
        let mut ranked = Vec::new();
        for (sku_id, loc, home, path) in candidates {
            let county = county_of(&path);
            let rule = match rules.get(&county) {
                Some(r) => *r,
                None => {
                    let r = self.shipping_rule(&county, &dest_province).await?;
                    rules.insert(county.clone(), r);
                    r
                }
            };
            let Some(rule) = rule else {
                unserved = true;
                continue;
            };
            let rank = if county == dest_county {
                0
            } else if home {
                1
            } else {
                2
            };
            ranked.push((sku_id, rank, loc, rule));
        }
        ranked.sort_by_key(|(sku, rank, loc, _)| (*sku, *rank, *loc));
        for (sku_id, _, loc, rule) in ranked {
            sources.entry(sku_id).or_default().push((loc, rule));
        }
        let missing: Vec<i64> = infos
            .iter()
            .map(|(i, _)| i.sku_id)
            .filter(|id| !sources.contains_key(id))
            .collect();
        if !missing.is_empty() {
            return Err(if unserved {
                StoreError::Rule(bazaar_domain::ErrorCode::AddressNotServed)
            } else {
                StoreError::OutOfStock(missing)
            });
        }
        // Lines are reserved in (seller, SKU) order, so two orders never wait for each other's
        // rows in opposite orders (no deadlock on PostgreSQL).
        infos.sort_by_key(|(i, _)| (i.seller_id, i.sku_id));
        let items_fen: i64 = infos.iter().map(|(i, q)| i.price_fen * q).sum();
        let now = now_ms();
        let buyer_id = (!station).then_some(actor.user_id);
        let channel = o.channel.as_str();
        let pay_by = now + o.pay_window_ms;
        // The parts as they will most likely be (each line from its first place): the order is
        // written with their shipping first, so the contended stock rows are locked as briefly
        // as possible; a line that lands elsewhere updates the order's shipping afterwards.
        let first: Vec<(i64, ShippingRule)> = infos
            .iter()
            .filter_map(|(i, _)| sources.get(&i.sku_id).and_then(|l| l.first()).copied())
            .collect();
        let (_, expected_fees) = price_parts(&infos, &first);
        let expected_shipping: i64 = expected_fees.iter().map(|(_, _, f)| f).sum();
        // Fast path: write everything for each line's first place, then reserve there, last,
        // just before the commit (a hot SKU's row is locked only for that); if some line does
        // not fit there, roll back and take the careful path: reserve first, trying each place.
        let mut fast = true;
        // A consumer's unpaid orders hold stock for half an hour: how much one buyer may hold
        // is capped (see `check_unpaid_cap`); stations and institutions order for many people.
        let capped = matches!(
            o.channel,
            Channel::Storefront | Channel::Pavilion | Channel::Live
        );
        let lock_buyer = match self.backend() {
            crate::Backend::Postgres => "SELECT id FROM users WHERE id = $1 FOR UPDATE",
            crate::Backend::Sqlite => "SELECT id FROM users WHERE id = $1",
        };
        let res = loop {
            let attempt = in_tx!(self, |c| {
                if capped {
                    // One buyer's orders one at a time (their row locked), so parallel orders
                    // cannot each pass the cap.
                    sqlx::query(lock_buyer)
                        .bind(actor.user_id)
                        .execute(&mut *c)
                        .await?;
                    let held: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT l.sku_id, CAST(SUM(l.quantity) AS BIGINT) FROM order_lines l \
                         JOIN orders o ON o.id = l.order_id WHERE o.placed_by = $1 \
                         AND o.status = 'pending_payment' GROUP BY l.sku_id",
                    )
                    .bind(actor.user_id)
                    .fetch_all(&mut *c)
                    .await?;
                    let mut stock = Vec::with_capacity(infos.len());
                    for (i, q) in &infos {
                        let total: Option<i64> = sqlx::query_scalar(
                            "SELECT CAST(SUM(on_hand) AS BIGINT) FROM stock WHERE sku_id = $1",
                        )
                        .bind(i.sku_id)
                        .fetch_one(&mut *c)
                        .await?;
                        stock.push((i.sku_id, *q, total.unwrap_or(0)));
                    }
                    check_unpaid_cap(&held, &stock)?;
                }
                let order_id: i64 = sqlx::query_scalar(
                "INSERT INTO orders (buyer_id, placed_by, idempotency_key, channel, status, recipient, \
                 phone, region_code, node_code, address_detail, villager_name, villager_ref, \
                 items_fen, shipping_fen, total_fen, pay_by, created_at, updated_at, delivery_date, \
                 invoice_title, invoice_tax_id) VALUES \
                 ($1, $2, $3, $4, 'pending_payment', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $16, $17, $18, $19) RETURNING id",
            )
            .bind(buyer_id)
            .bind(actor.user_id)
            .bind(&o.idempotency_key)
            .bind(channel)
            .bind(&address.recipient)
            .bind(&address.phone)
            .bind(&address.region_code)
            .bind(&address.node_code)
            .bind(&address.detail)
            .bind(&o.villager_name)
            .bind(&o.villager_ref)
            .bind(items_fen)
            .bind(expected_shipping)
            .bind(items_fen + expected_shipping)
            .bind(pay_by)
            .bind(now)
            .bind(o.institution.as_ref().map(|i| i.delivery_date.clone()))
            .bind(o.institution.as_ref().map(|i| i.invoice_title.clone()))
            .bind(o.institution.as_ref().map(|i| i.invoice_tax_id.clone()))
            .fetch_one(&mut *c)
            .await?;
                // The reservations: one conditional update per line and location tried, never
                // read-then-write; the first location that has enough wins.
                let mut chosen: Vec<(i64, ShippingRule)> = Vec::with_capacity(infos.len());
                let mut short = vec![];
                if fast {
                    chosen.clone_from(&first);
                }
                for (info, q) in infos.iter().filter(|_| !fast) {
                    let mut got = None;
                    for (loc, rule) in sources.get(&info.sku_id).map(Vec::as_slice).unwrap_or(&[]) {
                        let hit = sqlx::query(
                            "UPDATE stock SET reserved = reserved + $1, updated_at = $2 \
                         WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
                        )
                        .bind(q)
                        .bind(now)
                        .bind(info.sku_id)
                        .bind(loc)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                        if hit > 0 {
                            got = Some((*loc, *rule));
                            break;
                        }
                    }
                    match got {
                        Some(g) => chosen.push(g),
                        None => short.push(info.sku_id),
                    }
                }
                if !short.is_empty() {
                    // Rolls back every reservation of this order.
                    return Err(StoreError::OutOfStock(short));
                }
                let (parts, part_fees) = price_parts(&infos, &chosen);
                let shipping_fen: i64 = part_fees.iter().map(|(_, _, f)| f).sum();
                if shipping_fen != expected_shipping {
                    sqlx::query(
                        "UPDATE orders SET shipping_fen = $1, total_fen = $2 WHERE id = $3",
                    )
                    .bind(shipping_fen)
                    .bind(items_fen + shipping_fen)
                    .bind(order_id)
                    .execute(&mut *c)
                    .await?;
                }
                let mut lines = Vec::with_capacity(infos.len());
                for (((seller_id, loc), idx), (weight, volume, fee)) in parts.iter().zip(&part_fees)
                {
                    let part_id: i64 = sqlx::query_scalar(
                        "INSERT INTO order_parts (order_id, seller_id, location_id, weight_g, \
                     volume_cm3, shipping_fen) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(order_id)
                    .bind(seller_id)
                    .bind(loc)
                    .bind(weight)
                    .bind(volume)
                    .bind(fee)
                    .fetch_one(&mut *c)
                    .await?;
                    for i in idx {
                        let (info, q) = &infos[*i];
                        c.record_stock_move(&LedgerEntry {
                            sku: info.sku_id,
                            location: *loc,
                            kind: MoveKind::Reservation,
                            on_hand: 0,
                            reserved: *q,
                            incoming: 0,
                            order: Some(order_id),
                            actor: Some(actor.user_id),
                            note: None,
                            at: now,
                        })
                        .await?;
                        let poverty_product =
                            info.poverty_cert_no.is_some() || info.poverty_status != "none";
                        let line_id: i64 = sqlx::query_scalar(
                        "INSERT INTO order_lines (order_id, part_id, sku_id, product_id, seller_id, \
                         seller_kind, poverty_status, village_code, location_id, name, spec, \
                         unit_price_fen, quantity, line_fen, weight_g, poverty_product) VALUES ($1, $2, \
                         $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                    )
                    .bind(order_id)
                    .bind(part_id)
                    .bind(info.sku_id)
                    .bind(info.product_id)
                    .bind(info.seller_id)
                    .bind(&info.seller_kind)
                    .bind(&info.poverty_status)
                    .bind(&info.village_code)
                    .bind(loc)
                    .bind(&info.name)
                    .bind(&info.spec)
                    .bind(info.price_fen)
                    .bind(q)
                    .bind(info.price_fen * q)
                    .bind(info.weight_g * q)
                    .bind(poverty_product)
                    .fetch_one(&mut *c)
                    .await?;
                        lines.push(OrderLine {
                            id: line_id,
                            part_id,
                            sku_id: info.sku_id,
                            product_id: info.product_id,
                            seller_id: info.seller_id,
                            seller_kind: info.seller_kind.clone(),
                            poverty_status: info.poverty_status.clone(),
                            village_code: info.village_code.clone(),
                            name: info.name.clone(),
                            spec: info.spec.clone(),
                            unit_price_fen: info.price_fen,
                            quantity: *q,
                            line_fen: info.price_fen * q,
                            poverty_product,
                            weight_g: info.weight_g * q,
                            location_id: *loc,
                        });
                    }
                }
                if fast {
                    for ((info, q), (loc, _)) in infos.iter().zip(&chosen) {
                        let hit = sqlx::query(
                            "UPDATE stock SET reserved = reserved + $1, updated_at = $2 \
                         WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved >= $1",
                        )
                        .bind(q)
                        .bind(now)
                        .bind(info.sku_id)
                        .bind(loc)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                        if hit == 0 {
                            return Err(StoreError::Rule(RETRY_CAREFULLY));
                        }
                    }
                }
                c.record_new_order(order_id, "pending_payment", Some(actor.user_id), None, now)
                    .await?;
                // The answer is built from the rows just written: no read-back.
                lines.sort_by_key(|l| l.id);
                let row = OrderRow {
                    id: order_id,
                    buyer_id,
                    placed_by: actor.user_id,
                    channel: channel.to_string(),
                    status: OrderStatus::PendingPayment.as_str().to_string(),
                    recipient: address.recipient.clone(),
                    phone: address.phone.clone(),
                    region_code: address.region_code.clone(),
                    node_code: address.node_code.clone(),
                    address_detail: address.detail.clone(),
                    villager_name: o.villager_name.clone(),
                    items_fen,
                    shipping_fen,
                    total_fen: items_fen + shipping_fen,
                    payment_method: None,
                    pay_by,
                    paid_at: None,
                    delivered_at: None,
                    created_at: now,
                    delivery_date: o.institution.as_ref().map(|i| i.delivery_date.clone()),
                    invoice_title: o.institution.as_ref().map(|i| i.invoice_title.clone()),
                    invoice_tax_id: o.institution.as_ref().map(|i| i.invoice_tax_id.clone()),
                };
                let events = vec![OrderEventRow {
                    from_status: None,
                    to_status: row.status.clone(),
                    actor_id: Some(actor.user_id),
                    reason: None,
                    at: now,
                }];
                Ok(Order { row, lines, events })
            });
            match attempt {
                Err(StoreError::Rule(RETRY_CAREFULLY)) if fast => fast = false,
                other => break other,
            }
        };
        let order = match res {
            Ok(order) => order,
            Err(StoreError::Db(e)) if StoreError::is_unique_violation(&e) => {
                // A concurrent request with the same idempotency key won.
                if let Some(key) = &o.idempotency_key
                    && let Some(id) = self.order_for_key(actor.user_id, key).await?
                {
                    return Ok(Placed {
                        order: self.order_unchecked(id).await?,
                        replayed: true,
                    });
                }
                return Err(StoreError::Db(e));
            }
            Err(e) => return Err(e),
        };
        Ok(Placed {
            order,
            replayed: false,
        })
    }

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
        in_tx!(self, |c| {
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
            Ok(())
        })?;
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
    async fn step_order(
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

/// Units of a SKU any buyer may hold unpaid, however little stock there is.
pub const UNPAID_FLOOR: i64 = 10;

/// Whether one more order (`(sku, quantity, the SKU's stock on hand)` per line) keeps a
/// buyer within the cap on unpaid reservations: of each SKU at most half its stock (at least
/// [`UNPAID_FLOOR`] units) held by the buyer's orders waiting for payment, this one
/// included. One buyer cannot tie up a product's stock, however many orders it places.
pub fn check_unpaid_cap(held: &[(i64, i64)], lines: &[(i64, i64, i64)]) -> Result<(), StoreError> {
    for (sku, q, on_hand) in lines {
        let already: i64 = held.iter().filter(|(s, _)| s == sku).map(|(_, n)| n).sum();
        if already + q > (on_hand / 2).max(UNPAID_FLOOR) {
            return Err(StoreError::Rule(bazaar_domain::ErrorCode::UnpaidLimit));
        }
    }
    Ok(())
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
    /// The parts of orders a seller has to send, newest first (at most 200), optionally of
    /// one order status.
    pub async fn seller_parts(
        &self,
        actor: &Actor,
        status: Option<OrderStatus>,
    ) -> Result<Vec<SellerPart>, StoreError> {
        let Some(seller_id) = actor.seller_id.filter(|_| actor.role == Role::Seller) else {
            return Err(StoreError::Forbidden);
        };
        let mut sql = String::from(
            "SELECT pt.id AS part_id, o.id AS order_id, o.status AS order_status, \
             pt.status AS part_status, o.created_at, o.recipient, o.region_code, o.node_code, \
             pt.weight_g, (SELECT CAST(COALESCE(SUM(l.line_fen), 0) AS BIGINT) FROM order_lines l \
             WHERE l.part_id = pt.id) AS items_fen \
             FROM order_parts pt JOIN orders o ON o.id = pt.order_id WHERE pt.seller_id = $1",
        );
        if status.is_some() {
            sql.push_str(" AND o.status = $2");
        }
        sql.push_str(" ORDER BY o.id DESC LIMIT 200");
        Ok(on_read!(self, |p| {
            let mut q = sqlx::query_as(&sql).bind(seller_id);
            if let Some(st) = status {
                q = q.bind(st.as_str());
            }
            q.fetch_all(p).await?
        }))
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
