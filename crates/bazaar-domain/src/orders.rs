//! Orders: the lifecycle table, channels, payment methods, the items of a new order and the
//! shipping fee rules.

use crate::error::{FieldError, Reason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; stock reserved until it is paid or the payment deadline passes.
    PendingPayment,
    /// Paid; the reservation became a sale.
    Paid,
    /// The sellers are packing.
    Fulfilling,
    /// Handed to the carrier.
    Shipped,
    /// Arrived (at the door or the village point).
    Delivered,
    /// Closed; the after-sales window has passed.
    Completed,
    /// Cancelled before payment (by the buyer, or by the payment deadline).
    Cancelled,
    /// The buyer asked for a refund.
    RefundRequested,
    /// Money returned.
    Refunded,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::Fulfilling,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::RefundRequested,
        OrderStatus::Refunded,
    ];

    /// The stable snake_case name (stored, and in the API).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilling => "fulfilling",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::RefundRequested => "refund_requested",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// The status stored as `s`.
    pub fn from_db(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Parses a status given by a caller.
    pub fn parse(field: &str, s: &str) -> Result<OrderStatus, FieldError> {
        OrderStatus::from_db(s.trim()).ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// The tabs a buyer sorts their orders by, as on the platforms they know: 待付款, 待发货,
/// 待收货, 售后. Finished and cancelled orders are under "all" only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuyerTab {
    /// Waiting for the payment.
    ToPay,
    /// Paid; the seller is to ship.
    ToShip,
    /// On its way or waiting at the service point.
    ToReceive,
    /// A refund asked for or made.
    AfterSales,
}

impl BuyerTab {
    /// Every tab, in the order shown.
    pub const ALL: [BuyerTab; 4] = [
        BuyerTab::ToPay,
        BuyerTab::ToShip,
        BuyerTab::ToReceive,
        BuyerTab::AfterSales,
    ];

    /// Its name in an address (`?tab=to_pay`).
    pub fn as_str(self) -> &'static str {
        match self {
            BuyerTab::ToPay => "to_pay",
            BuyerTab::ToShip => "to_ship",
            BuyerTab::ToReceive => "to_receive",
            BuyerTab::AfterSales => "after_sales",
        }
    }

    /// The tab named `s`, if any.
    pub fn from_name(s: &str) -> Option<BuyerTab> {
        BuyerTab::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The statuses of the orders under this tab.
    pub fn statuses(self) -> &'static [OrderStatus] {
        match self {
            BuyerTab::ToPay => &[OrderStatus::PendingPayment],
            BuyerTab::ToShip => &[OrderStatus::Paid, OrderStatus::Fulfilling],
            BuyerTab::ToReceive => &[OrderStatus::Shipped, OrderStatus::Delivered],
            BuyerTab::AfterSales => &[OrderStatus::RefundRequested, OrderStatus::Refunded],
        }
    }

    /// The tab an order of `status` is under (none for finished and cancelled ones).
    pub fn of(status: OrderStatus) -> Option<BuyerTab> {
        BuyerTab::ALL
            .into_iter()
            .find(|t| t.statuses().contains(&status))
    }
}

/// Something that moves an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// The payment succeeded.
    Pay,
    /// The buyer (or agent) cancels before payment.
    Cancel,
    /// The payment deadline passed.
    Expire,
    /// A seller starts packing.
    StartFulfilling,
    /// Handed to the carrier.
    Ship,
    /// Delivered.
    Deliver,
    /// The buyer confirms, or the window closes.
    Complete,
    /// The buyer asks for a refund.
    RequestRefund,
    /// The seller or an operator refuses the refund: the order goes back to where it was.
    RejectRefund,
    /// The money went back.
    Refund,
}

impl OrderEvent {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderEvent::Pay => "pay",
            OrderEvent::Cancel => "cancel",
            OrderEvent::Expire => "expire",
            OrderEvent::StartFulfilling => "start_fulfilling",
            OrderEvent::Ship => "ship",
            OrderEvent::Deliver => "deliver",
            OrderEvent::Complete => "complete",
            OrderEvent::RequestRefund => "request_refund",
            OrderEvent::RejectRefund => "reject_refund",
            OrderEvent::Refund => "refund",
        }
    }
}

/// The order lifecycle: (from, event, to). Anything not in the table is refused.
pub const ORDER_TRANSITIONS: &[(OrderStatus, OrderEvent, OrderStatus)] = {
    use OrderEvent as E;
    use OrderStatus as S;
    &[
        (S::PendingPayment, E::Pay, S::Paid),
        (S::PendingPayment, E::Cancel, S::Cancelled),
        (S::PendingPayment, E::Expire, S::Cancelled),
        (S::Paid, E::StartFulfilling, S::Fulfilling),
        (S::Paid, E::Ship, S::Shipped),
        (S::Fulfilling, E::Ship, S::Shipped),
        (S::Shipped, E::Deliver, S::Delivered),
        (S::Delivered, E::Complete, S::Completed),
        (S::Paid, E::RequestRefund, S::RefundRequested),
        (S::Fulfilling, E::RequestRefund, S::RefundRequested),
        (S::Shipped, E::RequestRefund, S::RefundRequested),
        (S::Delivered, E::RequestRefund, S::RefundRequested),
        (S::Completed, E::RequestRefund, S::RefundRequested),
        (S::RefundRequested, E::Refund, S::Refunded),
    ]
};

/// The status `event` leads to from `from`, or `None` when the table does not allow it.
/// (A rejected refund returns to the status before the request, which the order's history
/// holds; see the store.)
pub fn order_transition(from: OrderStatus, event: OrderEvent) -> Option<OrderStatus> {
    ORDER_TRANSITIONS
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, t)| *t)
}

/// How an order came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The storefront (search, product pages).
    Storefront,
    /// A county pavilion.
    Pavilion,
    /// A live-stream selling session.
    Live,
    /// Placed by a station agent for a villager (代买).
    Station,
    /// Institutional procurement (消费扶贫).
    Institution,
    /// Imported from a third-party shop's export.
    Import,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 6] = [
        Channel::Storefront,
        Channel::Pavilion,
        Channel::Live,
        Channel::Station,
        Channel::Institution,
        Channel::Import,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Storefront => "storefront",
            Channel::Pavilion => "pavilion",
            Channel::Live => "live",
            Channel::Station => "station",
            Channel::Institution => "institution",
            Channel::Import => "import",
        }
    }

    /// Parses a channel given by a caller.
    pub fn parse(field: &str, s: &str) -> Result<Channel, FieldError> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// How an order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// The sandbox provider (demo only; labelled as such wherever it appears).
    Sandbox,
    /// Cash at the village station (到站付款), confirmed by the agent.
    StationCash,
    /// Bank transfer (institutions), confirmed by an operator.
    BankTransfer,
}

impl PaymentMethod {
    /// Every method.
    pub const ALL: [PaymentMethod; 3] = [
        PaymentMethod::Sandbox,
        PaymentMethod::StationCash,
        PaymentMethod::BankTransfer,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Sandbox => "sandbox",
            PaymentMethod::StationCash => "station_cash",
            PaymentMethod::BankTransfer => "bank_transfer",
        }
    }

    /// Parses a method given by a caller.
    pub fn parse(field: &str, s: &str) -> Result<PaymentMethod, FieldError> {
        PaymentMethod::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, Reason::UnknownChoice))
    }
}

/// The most units of one SKU in one order line.
pub const MAX_QUANTITY: i64 = 9_999;
/// The most lines in one order.
pub const MAX_LINES: usize = 100;

/// One requested item of a new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct ItemInput {
    /// The SKU.
    pub sku_id: i64,
    /// How many (1 to 9,999).
    #[schema(minimum = 1, maximum = 9_999)]
    pub quantity: i64,
    /// The unit price the buyer saw, in fen; when given and the price has changed since, the
    /// order is refused with `price_changed` so the buyer can confirm the new price.
    #[serde(default)]
    pub expected_price_fen: Option<i64>,
}

/// Checks the items of a new order: at least one, at most [`MAX_LINES`], each quantity 1 to
/// [`MAX_QUANTITY`]; the same SKU twice is merged into one line. Every bad item is reported
/// (`items[i].quantity`).
pub fn check_items(items: &[ItemInput]) -> Result<Vec<ItemInput>, Vec<FieldError>> {
    if items.is_empty() {
        return Err(vec![FieldError::new("items", Reason::Required)]);
    }
    if items.len() > MAX_LINES {
        return Err(vec![FieldError::new("items", Reason::OutOfRange)]);
    }
    let mut errs = vec![];
    let mut out: Vec<ItemInput> = vec![];
    for (i, it) in items.iter().enumerate() {
        if it.sku_id <= 0 {
            errs.push(FieldError::new(
                format!("items[{i}].sku_id"),
                Reason::UnknownReference,
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&it.quantity) {
            errs.push(FieldError::new(
                format!("items[{i}].quantity"),
                Reason::OutOfRange,
            ));
        }
        if let Some(existing) = out.iter_mut().find(|o| o.sku_id == it.sku_id) {
            existing.quantity = existing.quantity.saturating_add(it.quantity);
            if existing.quantity > MAX_QUANTITY && (1..=MAX_QUANTITY).contains(&it.quantity) {
                errs.push(FieldError::new(
                    format!("items[{i}].quantity"),
                    Reason::OverTotal,
                ));
            }
        } else {
            out.push(*it);
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// A shipping fee rule of an origin county.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingRule {
    /// Weight covered by the first fee, in grams.
    pub first_weight_g: i64,
    /// Fee for the first weight, in fen.
    pub first_fee_fen: i64,
    /// Each further unit, in grams.
    pub extra_unit_g: i64,
    /// Fee per further unit (started units count whole), in fen.
    pub extra_fee_fen: i64,
    /// Added once per parcel that needs the cold chain, in fen.
    pub cold_chain_fee_fen: i64,
}

impl ShippingRule {
    /// The fee of one parcel of `weight_g` grams.
    pub fn fee(&self, weight_g: i64, cold_chain: bool) -> i64 {
        let w = weight_g.max(1);
        let extra = (w - self.first_weight_g).max(0);
        let units = (extra + self.extra_unit_g - 1) / self.extra_unit_g.max(1);
        self.first_fee_fen
            + units * self.extra_fee_fen
            + if cold_chain {
                self.cold_chain_fee_fen
            } else {
                0
            }
    }
}

/// Grams of volumetric weight per cubic centimetre divisor: Chinese express carriers charge
/// the larger of the actual weight and 长×宽×高(cm) / 6000 kg, that is cm³ / 6 in grams.
pub const VOLUMETRIC_DIVISOR: i64 = 6;

/// The weight a parcel is charged by: the larger of its actual weight and its volumetric
/// weight (`volume_cm3 / 6` grams, rounded up).
pub fn chargeable_weight_g(weight_g: i64, volume_cm3: i64) -> i64 {
    let volumetric = (volume_cm3.max(0) + VOLUMETRIC_DIVISOR - 1) / VOLUMETRIC_DIVISOR;
    weight_g.max(volumetric)
}

/// A payment provider's notification, after its signature was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotification {
    /// The provider's id of this notification (a repeat carries the same id).
    pub id: String,
    /// The payment it is about.
    pub provider_ref: String,
    /// Amount paid, fen.
    pub amount_fen: i64,
    /// `succeeded` or `failed`.
    pub outcome: String,
}

/// Where a line ships from, best first: a place in the destination's own county (a village
/// point or county warehouse near the buyer), then the seller's home, then anywhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShipFrom {
    /// In the destination's county.
    DestinationCounty,
    /// The seller's own place (elsewhere).
    SellerHome,
    /// Any other place holding it.
    Elsewhere,
}

impl ShipFrom {
    /// The rank of a place in `county` (the seller's home or not) for a destination in
    /// `dest_county`.
    pub fn of(county: &str, dest_county: &str, seller_home: bool) -> ShipFrom {
        if county == dest_county {
            ShipFrom::DestinationCounty
        } else if seller_home {
            ShipFrom::SellerHome
        } else {
            ShipFrom::Elsewhere
        }
    }
}

/// A place holding some of a SKU, with its county's shipping rule to the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The SKU.
    pub sku: i64,
    /// The stock location.
    pub location: i64,
    /// How near it is to the buyer.
    pub rank: ShipFrom,
    /// The shipping rule of its county for the destination.
    pub rule: ShippingRule,
}

/// Each SKU's places in the order they are tried: best rank first, then the lower location id
/// (so two orders try the same rows in the same order).
pub fn rank_sources(mut sources: Vec<Source>) -> BTreeMap<i64, Vec<(i64, ShippingRule)>> {
    sources.sort_by_key(|s| (s.sku, s.rank, s.location));
    let mut out: BTreeMap<i64, Vec<(i64, ShippingRule)>> = BTreeMap::new();
    for s in sources {
        out.entry(s.sku).or_default().push((s.location, s.rule));
    }
    out
}

/// What one order line weighs and whose it is, for pricing its parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineLoad {
    /// The seller.
    pub seller: i64,
    /// Weight of one unit, grams.
    pub weight_g: i64,
    /// Volume of one unit, cm³.
    pub volume_cm3: i64,
    /// Needs the cold chain.
    pub cold_chain: bool,
    /// Units.
    pub quantity: i64,
}

/// One parcel of an order: one seller's lines from one place, priced on its chargeable
/// weight by the rule of the place's county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedPart {
    /// The seller.
    pub seller: i64,
    /// The ship-from location.
    pub location: i64,
    /// The indices of its lines.
    pub lines: Vec<usize>,
    /// Total weight, grams.
    pub weight_g: i64,
    /// Total volume, cm³.
    pub volume_cm3: i64,
    /// The shipping fee, fen.
    pub fee_fen: i64,
}

/// Groups an order's lines into parts by seller and ship-from place (`chosen[i]` is line `i`'s
/// place and its county's rule; a line without one is left out) and prices each part, in
/// (seller, location) order.
pub fn price_parts(lines: &[LineLoad], chosen: &[(i64, ShippingRule)]) -> Vec<PricedPart> {
    let mut groups: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some((loc, _)) = chosen.get(i) {
            groups.entry((l.seller, *loc)).or_default().push(i);
        }
    }
    groups
        .into_iter()
        .map(|((seller, location), idx)| {
            let weight_g: i64 = idx
                .iter()
                .map(|i| lines[*i].weight_g * lines[*i].quantity)
                .sum();
            let volume_cm3: i64 = idx
                .iter()
                .map(|i| lines[*i].volume_cm3 * lines[*i].quantity)
                .sum();
            let cold = idx.iter().any(|i| lines[*i].cold_chain);
            let fee_fen = chosen[idx[0]]
                .1
                .fee(chargeable_weight_g(weight_g, volume_cm3), cold);
            PricedPart {
                seller,
                location,
                lines: idx,
                weight_g,
                volume_cm3,
                fee_fen,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_open_order_is_under_exactly_one_tab() {
        for st in OrderStatus::ALL {
            let tabs = BuyerTab::ALL
                .iter()
                .filter(|t| t.statuses().contains(&st))
                .count();
            let finished = matches!(st, OrderStatus::Completed | OrderStatus::Cancelled);
            assert_eq!(tabs, usize::from(!finished), "{st:?}");
            assert_eq!(BuyerTab::of(st).is_some(), !finished);
        }
        for t in BuyerTab::ALL {
            assert_eq!(BuyerTab::from_name(t.as_str()), Some(t));
        }
        assert_eq!(BuyerTab::from_name("x"), None);
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lifecycle_table_is_the_only_way() {
        use OrderEvent as E;
        use OrderStatus as S;
        assert_eq!(order_transition(S::PendingPayment, E::Pay), Some(S::Paid));
        assert_eq!(
            order_transition(S::Paid, E::Cancel),
            None,
            "paid orders are refunded, not cancelled"
        );
        assert_eq!(order_transition(S::Cancelled, E::Pay), None);
        // After-sales stay open after completion (the store enforces the 15-day window).
        assert_eq!(
            order_transition(S::Completed, E::RequestRefund),
            Some(S::RefundRequested)
        );
        assert_eq!(order_transition(S::Completed, E::Cancel), None);
        assert_eq!(
            order_transition(S::RefundRequested, E::Refund),
            Some(S::Refunded)
        );
        // Terminal statuses lead nowhere; a completed order only to after-sales.
        for (from, event, _) in ORDER_TRANSITIONS {
            assert!(![S::Cancelled, S::Refunded].contains(from));
            assert!(*from != S::Completed || *event == E::RequestRefund);
        }
    }

    #[test]
    fn items_are_checked_and_merged() {
        let it = |sku_id, quantity| ItemInput {
            sku_id,
            quantity,
            expected_price_fen: None,
        };
        assert_eq!(
            check_items(&[it(1, 2), it(2, 1), it(1, 3)]).expect("ok"),
            vec![it(1, 5), it(2, 1)]
        );
        let e = check_items(&[it(1, 0), it(-1, 1), it(3, 10_000)]).expect_err("bad");
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["items[0].quantity", "items[1].sku_id", "items[2].quantity"]
        );
        assert!(check_items(&[]).is_err());
    }

    #[test]
    fn shipping_fee() {
        let r = ShippingRule {
            first_weight_g: 1000,
            first_fee_fen: 800,
            extra_unit_g: 1000,
            extra_fee_fen: 500,
            cold_chain_fee_fen: 1500,
        };
        assert_eq!(r.fee(500, false), 800);
        assert_eq!(r.fee(1000, false), 800);
        assert_eq!(r.fee(1001, false), 1300);
        assert_eq!(r.fee(3200, true), 800 + 3 * 500 + 1500);
        // A light, bulky parcel (a 30×20×20 cm box of dried fruit weighing 1.2 kg) is charged
        // by its volume: 12,000 cm³ / 6 = 2,000 g.
        assert_eq!(chargeable_weight_g(1200, 12_000), 2000);
        assert_eq!(chargeable_weight_g(2500, 12_000), 2500);
        assert_eq!(chargeable_weight_g(10, 7), 10);
        assert_eq!(chargeable_weight_g(0, 7), 2);
    }

    fn rule(first: i64) -> ShippingRule {
        ShippingRule {
            first_weight_g: 1000,
            first_fee_fen: first,
            extra_unit_g: 500,
            extra_fee_fen: 300,
            cold_chain_fee_fen: 1200,
        }
    }

    #[test]
    fn a_place_near_the_buyer_comes_first() {
        assert_eq!(
            ShipFrom::of("652829", "652829", false),
            ShipFrom::DestinationCounty
        );
        assert_eq!(
            ShipFrom::of("652829", "652829", true),
            ShipFrom::DestinationCounty
        );
        assert_eq!(ShipFrom::of("652826", "652829", true), ShipFrom::SellerHome);
        assert_eq!(ShipFrom::of("652826", "652829", false), ShipFrom::Elsewhere);
        let s = |sku, location, rank| Source {
            sku,
            location,
            rank,
            rule: rule(800),
        };
        let ranked = rank_sources(vec![
            s(7, 3, ShipFrom::Elsewhere),
            s(7, 9, ShipFrom::DestinationCounty),
            s(7, 1, ShipFrom::SellerHome),
            s(2, 5, ShipFrom::SellerHome),
        ]);
        let locs: Vec<i64> = ranked[&7].iter().map(|(l, _)| *l).collect();
        assert_eq!(locs, [9, 1, 3]);
        assert_eq!(ranked[&2].len(), 1);
    }

    #[test]
    fn parts_are_one_seller_from_one_place() {
        let l = |seller, weight_g, quantity, cold_chain| LineLoad {
            seller,
            weight_g,
            volume_cm3: 0,
            cold_chain,
            quantity,
        };
        // Two of 阿西木's honey jars and one box of dried fruit from the same place, and 松茸
        // from another seller in the cold chain.
        let lines = [l(1, 600, 2, false), l(1, 500, 1, false), l(2, 300, 1, true)];
        let chosen = [(10, rule(800)), (10, rule(800)), (20, rule(1000))];
        let parts = price_parts(&lines, &chosen);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].lines, [0, 1]);
        assert_eq!(parts[0].weight_g, 1700);
        assert_eq!(parts[0].fee_fen, 800 + 2 * 300);
        assert_eq!(parts[1].fee_fen, 1000 + 1200);
    }

    proptest! {
        #[test]
        fn every_line_is_in_exactly_one_part_of_its_seller_and_place(
            lines in proptest::collection::vec((1i64..4, 1i64..3000, 0i64..20_000, any::<bool>(), 1i64..5, 1i64..4), 1..12)
        ) {
            let loads: Vec<LineLoad> = lines.iter().map(|(s, w, v, c, q, _)| LineLoad {
                seller: *s, weight_g: *w, volume_cm3: *v, cold_chain: *c, quantity: *q,
            }).collect();
            let chosen: Vec<(i64, ShippingRule)> =
                lines.iter().map(|(.., loc)| (*loc, rule(800 + 100 * *loc))).collect();
            let parts = price_parts(&loads, &chosen);
            let mut seen = vec![0; loads.len()];
            for p in &parts {
                for i in &p.lines {
                    seen[*i] += 1;
                    prop_assert_eq!(loads[*i].seller, p.seller);
                    prop_assert_eq!(chosen[*i].0, p.location);
                }
                let w: i64 = p.lines.iter().map(|i| loads[*i].weight_g * loads[*i].quantity).sum();
                prop_assert_eq!(w, p.weight_g);
                let cold = p.lines.iter().any(|i| loads[*i].cold_chain);
                prop_assert_eq!(
                    p.fee_fen,
                    rule(800 + 100 * p.location).fee(chargeable_weight_g(p.weight_g, p.volume_cm3), cold)
                );
            }
            prop_assert!(seen.iter().all(|n| *n == 1));
            // One more unit of any line never makes the order's shipping cheaper.
            let total: i64 = parts.iter().map(|p| p.fee_fen).sum();
            let mut more = loads.clone();
            more[0].quantity += 1;
            let total_more: i64 = price_parts(&more, &chosen).iter().map(|p| p.fee_fen).sum();
            prop_assert!(total_more >= total);
        }

        #[test]
        fn ranked_places_are_each_tried_once_best_first(
            places in proptest::collection::vec((1i64..4, 1i64..50, 0u8..3), 0..30)
        ) {
            let ranks = [ShipFrom::DestinationCounty, ShipFrom::SellerHome, ShipFrom::Elsewhere];
            let mut sources: Vec<Source> = Vec::new();
            for (sku, loc, r) in &places {
                if !sources.iter().any(|s| s.sku == *sku && s.location == *loc) {
                    sources.push(Source { sku: *sku, location: *loc, rank: ranks[*r as usize], rule: rule(800) });
                }
            }
            let ranked = rank_sources(sources.clone());
            let n: usize = ranked.values().map(Vec::len).sum();
            prop_assert_eq!(n, sources.len());
            for (sku, list) in &ranked {
                let keys: Vec<(ShipFrom, i64)> = list.iter().filter_map(|(loc, _)| {
                    sources.iter().find(|s| s.sku == *sku && s.location == *loc).map(|s| (s.rank, *loc))
                }).collect();
                prop_assert_eq!(keys.len(), list.len());
                prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
            }
        }

        #[test]
        fn fee_grows_with_weight(w in 1i64..200_000, d in 0i64..5_000) {
            let r = ShippingRule { first_weight_g: 1000, first_fee_fen: 800, extra_unit_g: 500, extra_fee_fen: 300, cold_chain_fee_fen: 0 };
            prop_assert!(r.fee(w + d, false) >= r.fee(w, false));
        }
    }
}
