//! Orders in the back office: the seller's list with bulk "mark shipped", the station agent's
//! 代买 screen and cash collection, and the confirmation queue of cash and transfers.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::forms::{FormView, form_pairs, text};
use crate::app::i18n::Lang;
use crate::app::view;
use crate::orders::pages::{ParcelTrack, Step, parcel_track, reason_words, status_label};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::money::Fen;
use bazaar_domain::orders::{Channel, ItemInput, OrderStatus, PaymentMethod};
use bazaar_domain::people::Role;
use bazaar_domain::text::mask_phone;
use bazaar_domain::time::Zone;
use bazaar_domain::{FieldError, Reason};
use bazaar_store::Cursor;
use bazaar_store::StoreError;
use bazaar_store::db::find::Needle;
use bazaar_store::orders::PlaceOrder;
use std::collections::HashMap;

fn status_name(cx: &Ctx, s: &str) -> String {
    cx.lang.t(&format!("order-status-{s}"))
}

/// How many parts the seller's order page shows at once.
const SELLER_PAGE: i64 = 30;

/// The seller's order page with filter `q` (`status`, `before`), and, after a refused
/// shipment, the part it was for with what was typed and why.
async fn seller_page(
    s: &AppState,
    cx: &Ctx,
    query: &str,
    refused: Option<(i64, &HashMap<String, String>, &[FieldError])>,
    code: StatusCode,
) -> Response {
    let lang = cx.lang;
    let filter = match ListFilter::read(query) {
        Ok(f) => f,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), "/manage/orders"),
    };
    let parts = match s
        .store
        .seller_parts(
            &cx.actor,
            filter.status,
            filter.before,
            filter.needle.as_ref(),
            SELLER_PAGE,
        )
        .await
    {
        Ok(p) => p,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let statuses = filter.statuses(cx);
    let next = (parts.len() as i64 == SELLER_PAGE)
        .then(|| parts.last().map(|p| p.order_id))
        .flatten()
        .map(|id| filter.href(Some(&id.to_string())));
    // Where a shipment brings the seller back: this page, as filtered.
    let back = filter.href(filter.before.map(|b| b.to_string()).as_deref());
    let mut places: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::with_capacity(parts.len());
    for p in parts {
        let place = match places.get(&p.region_code) {
            Some(x) => x.clone(),
            None => {
                let x = region_words(s, lang, &p.region_code).await;
                places.insert(p.region_code.clone(), x.clone());
                x
            }
        };
        let empty = HashMap::new();
        let (values, errors): (&HashMap<String, String>, &[FieldError]) = match refused {
            Some((id, v, e)) if id == p.part_id => (v, e),
            _ => (&empty, &[]),
        };
        let f = FormView {
            lang,
            values,
            errors,
        };
        rows.push(PartRow {
            can_ship: p.part_status == "open"
                && matches!(p.order_status.as_str(), "paid" | "fulfilling"),
            part_id: p.part_id,
            order_id: p.order_id,
            status: status_name(cx, &p.order_status),
            created: Zone::Shanghai.format_ms(p.created_at),
            total: Fen(p.items_fen).to_string(),
            weight: format!("{:.1} kg", p.weight_g as f64 / 1000.0),
            lines: p
                .lines
                .iter()
                .map(|l| format!("{} {} × {}", l.name, l.spec, l.quantity))
                .collect(),
            phone: p.phone,
            address: format!("{place} {}", p.address_detail.unwrap_or_default()),
            sent_with: p.waybill.map(|w| {
                let carrier = p
                    .carrier
                    .as_deref()
                    .and_then(bazaar_domain::logistics::carrier)
                    .map(|c| if lang == Lang::En { c.name_en } else { c.name })
                    .unwrap_or("");
                (carrier.to_string(), w)
            }),
            recipient: p.recipient,
            waybill: f.value("waybill").to_string(),
            carrier_choice: f.value("carrier").to_string(),
            waybill_error: f.error("waybill"),
            carrier_error: f.error("carrier"),
        });
    }
    let carriers = std::iter::once((String::new(), lang.t("ship-carrier-auto")))
        .chain(bazaar_domain::logistics::CARRIERS.iter().map(|c| {
            (
                c.code.to_string(),
                if lang == Lang::En { c.name_en } else { c.name }.to_string(),
            )
        }))
        .collect();
    cx.render(
        code,
        &lang.t("orders-seller-title"),
        &SellerOrders {
            lang,
            csrf: &cx.csrf,
            q: filter.q(),
            statuses,
            any_to_ship: rows.iter().any(|p| p.can_ship),
            parts: rows,
            carriers,
            next,
            back,
        },
    )
}

/// What an order list is filtered by: its query string's `status`, `q` (a search, see
/// [`bazaar_store::db::find::Needle`]) and `before` (where the page starts: an order id).
struct ListFilter {
    status: Option<OrderStatus>,
    needle: Option<Needle>,
    before: Option<i64>,
}

impl ListFilter {
    /// Reads a query string; an unknown status or a search too long is refused, naming it.
    fn read(query: &str) -> Result<ListFilter, FieldError> {
        let mut f = ListFilter {
            status: None,
            needle: None,
            before: None,
        };
        for (k, v) in form_pairs(query.as_bytes()) {
            match k.as_str() {
                "status" if !v.is_empty() => f.status = Some(OrderStatus::parse("status", &v)?),
                "before" => f.before = v.parse::<i64>().ok(),
                "q" => f.needle = Needle::parse("q", Some(&v))?,
                _ => {}
            }
        }
        Ok(f)
    }

    /// The search as typed, for the search box.
    fn q(&self) -> &str {
        self.needle.as_ref().map(Needle::as_str).unwrap_or_default()
    }

    /// The statuses for the picker: value, name, chosen.
    fn statuses(&self, cx: &Ctx) -> Vec<(&'static str, String, bool)> {
        OrderStatus::ALL
            .into_iter()
            .map(|st| {
                (
                    st.as_str(),
                    status_name(cx, st.as_str()),
                    self.status == Some(st),
                )
            })
            .collect()
    }

    /// This list as filtered, from `before` (an opaque page start) when given.
    fn href(&self, before: Option<&str>) -> String {
        let mut parts = vec![];
        if let Some(st) = self.status {
            parts.push(format!("status={}", st.as_str()));
        }
        if let Some(n) = &self.needle {
            parts.push(format!("q={}", crate::catalog::pages::encode(n.as_str())));
        }
        if let Some(b) = before {
            parts.push(format!("before={b}"));
        }
        if parts.is_empty() {
            "/manage/orders".to_string()
        } else {
            format!("/manage/orders?{}", parts.join("&"))
        }
    }
}

/// A region's place as a person writes it: its names from the province down, joined.
async fn region_words(s: &AppState, lang: Lang, code: &str) -> String {
    let Ok(r) = s.store.region(code).await else {
        return code.to_string();
    };
    let mut words = s
        .store
        .region_trail(&r.path)
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| match (lang, &r.name_en) {
            (Lang::En, Some(en)) if !en.is_empty() => en.clone(),
            _ => r.name.clone(),
        })
        .collect::<Vec<_>>();
    // A municipality is its own prefecture: 北京市 朝阳区, not 北京市 北京市 朝阳区.
    words.dedup();
    words.join(" ")
}

/// `GET /manage/orders?status=…&before=…`: the seller's parts of orders, each with what goes
/// in the parcel, where it goes, and for those to send a carrier picker and a waybill field.
pub async fn seller_orders(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let query = uri.query().unwrap_or("");
    if cx.actor.role == Role::Seller {
        seller_page(&s, &cx, query, None, StatusCode::OK).await
    } else {
        area_page(&s, &cx, query).await
    }
}

/// How many orders the area's order list shows at once.
const AREA_PAGE: i64 = 30;

/// The orders of an operator's county (an agent's service point, an admin's all) with the
/// status filter and the search box, newest first, each leading to its detail page.
async fn area_page(s: &AppState, cx: &Ctx, query: &str) -> Response {
    let lang = cx.lang;
    let filter = match ListFilter::read(query) {
        Ok(f) => f,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), "/manage/orders"),
    };
    let page = match s
        .store
        .orders_in_scope(
            &cx.actor,
            filter.status,
            filter.needle.as_ref(),
            Cursor(filter.before.unwrap_or(0)),
            Some(AREA_PAGE),
        )
        .await
    {
        Ok(p) => p,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let zone = view::zone_of(&s.store, &cx.actor).await;
    let mut places: HashMap<String, String> = HashMap::new();
    let mut orders = Vec::with_capacity(page.items.len());
    for o in page.items {
        let place = match places.get(&o.region_code) {
            Some(x) => x.clone(),
            None => {
                let x = region_words(s, lang, &o.region_code).await;
                places.insert(o.region_code.clone(), x.clone());
                x
            }
        };
        orders.push(AreaRow {
            id: o.id,
            status: status_name(cx, &o.status),
            channel: lang.t(&format!("channel-{}", o.channel)),
            created: view::when(lang, o.created_at, zone),
            recipient: o.recipient,
            villager: o.villager_name,
            phone: mask_phone(&o.phone),
            place,
            total: Fen(o.total_fen).to_string(),
        });
    }
    let none = (orders.is_empty() && filter.needle.is_some())
        .then(|| lang.ta("find-none", &[("q", filter.q().to_string().into())]));
    cx.render(
        StatusCode::OK,
        &lang.t("orders-area-title"),
        &AreaOrders {
            lang,
            q: filter.q(),
            statuses: filter.statuses(cx),
            orders,
            none,
            next: page.next.map(|c| filter.href(Some(&c.0.to_string()))),
        },
    )
}

/// The area's orders: the filter and the orders as cards.
#[derive(Template)]
#[template(path = "orders/manage_orders.html")]
struct AreaOrders<'a> {
    lang: Lang,
    /// The search as typed.
    q: &'a str,
    /// Every order status: value, name, chosen.
    statuses: Vec<(&'static str, String, bool)>,
    orders: Vec<AreaRow>,
    /// What to say when a search found nothing.
    none: Option<String>,
    /// The next page, when there is one.
    next: Option<String>,
}

/// One order of the area's list.
struct AreaRow {
    id: i64,
    status: String,
    channel: String,
    created: String,
    recipient: String,
    /// The villager a station agent bought for.
    villager: Option<String>,
    /// Masked: the list is for finding, the detail page for acting.
    phone: String,
    place: String,
    total: String,
}

/// `GET /manage/orders/{id}`: one order in the back office, for whoever may see it (its
/// sellers their own lines): what was bought from whom, where it goes, how it was paid, its
/// parcels with their tracking, its refund requests and its timeline.
pub async fn order_detail(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/orders");
    };
    let o = match s.store.order(&cx.actor, id).await {
        Ok(o) => o,
        Err(e) => return cx.error_page(e, "/manage/orders"),
    };
    let (parcels, payments, refunds) = match (
        s.store.order_parcels(&cx.actor, id).await,
        s.store.order_payments(&cx.actor, id).await,
        s.store.order_refunds(&cx.actor, id).await,
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return cx.error_page(e, "/manage/orders");
        }
    };
    let zone = view::zone_of(&s.store, &cx.actor).await;
    let r = &o.row;
    // The lines by seller, each seller named once.
    let mut groups: Vec<SellerLines> = vec![];
    for l in &o.lines {
        let line = format!("{} {} × {}", l.name, l.spec, l.quantity);
        let fen = Fen(l.line_fen).to_string();
        match groups.iter_mut().find(|g| g.seller_id == l.seller_id) {
            Some(g) => g.lines.push((l.product_id, line, fen)),
            None => {
                let name = s
                    .store
                    .seller(l.seller_id)
                    .await
                    .map(|x| x.name)
                    .unwrap_or_default();
                groups.push(SellerLines {
                    seller_id: l.seller_id,
                    seller: lang.ta("manage-order-seller", &[("name", name.into())]),
                    lines: vec![(l.product_id, line, fen)],
                });
            }
        }
    }
    let point = match &r.node_code {
        Some(code) => s
            .store
            .node(code)
            .await
            .ok()
            .map(|n| lang.ta("manage-order-point", &[("name", n.name.into())])),
        None => None,
    };
    let shown_amount = !(cx.actor.role == Role::Seller
        && r.placed_by != cx.actor.user_id
        && r.buyer_id != Some(cx.actor.user_id));
    let page = ManageOrder {
        lang,
        id,
        status: status_name(&cx, &r.status),
        channel: lang.t(&format!("channel-{}", r.channel)),
        placed: lang.ta(
            "manage-order-placed",
            &[("time", view::when(lang, r.created_at, zone).into())],
        ),
        groups,
        items: Fen(r.items_fen).to_string(),
        shipping: Fen(r.shipping_fen).to_string(),
        total: Fen(r.total_fen).to_string(),
        recipient: r.recipient.clone(),
        phone: mask_phone(&r.phone),
        place: format!(
            "{} {}",
            region_words(&s, lang, &r.region_code).await,
            r.address_detail.as_deref().unwrap_or_default()
        ),
        point,
        villager: r
            .villager_name
            .as_ref()
            .map(|v| lang.ta("manage-order-villager", &[("name", v.clone().into())])),
        payments: payments
            .iter()
            .map(|p| {
                let mut words = format!(
                    "{} · {}",
                    lang.t(&format!("pay-{}", p.method)),
                    lang.t(&format!("payment-status-{}", p.status))
                );
                if shown_amount {
                    words.push_str(&format!(" · {}", Fen(p.amount_fen)));
                }
                words
            })
            .collect(),
        refunds: refunds
            .iter()
            .map(|f| RefundLine {
                at: view::when(lang, f.created_at, zone),
                status: lang.t(&format!("refund-status-{}", f.status)),
                reason: f.reason.clone(),
                decision: f.decision_reason.clone(),
            })
            .collect(),
        can_ship: cx.actor.role == Role::Seller
            && matches!(r.status.as_str(), "paid" | "fulfilling"),
        timeline: o
            .events
            .iter()
            .map(|e| Step {
                at: view::when(lang, e.at, zone),
                what: status_label(lang, &e.to_status),
                note: e.reason.as_deref().map(|x| reason_words(lang, x)),
            })
            .collect(),
        parcels: parcels.iter().map(|t| parcel_track(lang, t)).collect(),
    };
    cx.render(
        StatusCode::OK,
        &lang.ta("order-title", &[("id", id.into())]),
        &page,
    )
}

/// An order in the back office.
#[derive(Template)]
#[template(path = "orders/manage_order.html")]
struct ManageOrder {
    lang: Lang,
    id: i64,
    status: String,
    channel: String,
    /// "下单：time".
    placed: String,
    /// Its lines by seller.
    groups: Vec<SellerLines>,
    items: String,
    shipping: String,
    total: String,
    recipient: String,
    phone: String,
    /// The place from the province down, and the street.
    place: String,
    /// The service point it goes to, named.
    point: Option<String>,
    /// The villager an agent bought for.
    villager: Option<String>,
    /// Each payment: how, its state, and the amount where the caller may see it.
    payments: Vec<String>,
    refunds: Vec<RefundLine>,
    /// A seller's order still to send: a link to the shipping form.
    can_ship: bool,
    timeline: Vec<Step>,
    parcels: Vec<ParcelTrack>,
}

/// One seller's lines of an order: product id, "name option × n", line total.
struct SellerLines {
    seller_id: i64,
    seller: String,
    lines: Vec<(i64, String, String)>,
}

/// A refund request of an order.
struct RefundLine {
    at: String,
    status: String,
    reason: String,
    decision: Option<String>,
}

/// The seller's orders: the status filter, and the parts as cards, those to send with their
/// shipping form.
#[derive(Template)]
#[template(path = "orders/manage_seller_orders.html")]
struct SellerOrders<'a> {
    lang: Lang,
    csrf: &'a str,
    /// The search as typed.
    q: &'a str,
    /// Every order status: value, name, chosen.
    statuses: Vec<(&'static str, String, bool)>,
    parts: Vec<PartRow>,
    /// Whether any part is to be sent (the joint-delivery form is shown).
    any_to_ship: bool,
    /// The carrier picker: code and name ("" = recognise it from the waybill).
    carriers: Vec<(String, String)>,
    /// The next page, when there may be one.
    next: Option<String>,
    /// This page as filtered: where a shipment comes back to.
    back: String,
}

/// One part of an order, as its seller sees it.
struct PartRow {
    /// Open and paid for: it can be shipped.
    can_ship: bool,
    part_id: i64,
    order_id: i64,
    status: String,
    recipient: String,
    /// Whole while it is to be sent, masked after.
    phone: String,
    /// The place, from the province down, and the street or service point.
    address: String,
    created: String,
    total: String,
    weight: String,
    /// "Name option × n", one per line.
    lines: Vec<String>,
    /// The carrier's name and the waybill it went with.
    sent_with: Option<(String, String)>,
    /// The waybill as typed (after a refusal).
    waybill: String,
    /// The carrier as chosen (after a refusal).
    carrier_choice: String,
    waybill_error: Option<String>,
    carrier_error: Option<String>,
}

/// `POST /manage/orders/ship`: ships parts. One part with `carrier` and `waybill` (the
/// carrier recognised from the waybill when not chosen; neither: the county's joint delivery
/// collects it), or several `part`s at once for the joint delivery.
pub async fn ship(State(s): State<AppState>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    // Repeated fields: parse the urlencoded body by hand.
    let mut form = HashMap::new();
    let mut parts = vec![];
    for (k, v) in form_pairs(&body) {
        if k == "part" {
            if let Ok(id) = v.parse::<i64>() {
                parts.push(id);
            }
        } else {
            form.insert(k, v);
        }
    }
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let back = text(&form, "back");
    let back = if back.starts_with("/manage/orders") && !back.contains("//") {
        back
    } else {
        "/manage/orders".to_string()
    };
    if parts.is_empty() {
        return cx.error_page(
            StoreError::Invalid(vec![FieldError::new("part_ids", Reason::Required)]),
            &back,
        );
    }
    let waybill = text(&form, "waybill").trim().to_string();
    let mut carrier = text(&form, "carrier").trim().to_string();
    let mut waybills = vec![];
    let refuse = |e: FieldError| vec![e];
    let mut errs = vec![];
    if parts.len() == 1 && !waybill.is_empty() {
        if carrier.is_empty() {
            let found = bazaar_domain::logistics::carriers_of(&waybill);
            match found.as_slice() {
                [one] => carrier = one.code.to_string(),
                [] => errs = refuse(FieldError::new("waybill", Reason::InvalidFormat)),
                _ => errs = refuse(FieldError::new("carrier", Reason::Required)),
            }
        }
        if errs.is_empty() && carrier != bazaar_domain::logistics::BAZAAR_CARRIER {
            waybills.push(bazaar_store::orders::PartWaybill {
                part_id: parts[0],
                carrier: carrier.clone(),
                waybill: waybill.clone(),
            });
        }
    } else if parts.len() == 1
        && !carrier.is_empty()
        && carrier != bazaar_domain::logistics::BAZAAR_CARRIER
    {
        errs = refuse(FieldError::new("waybill", Reason::Required));
    }
    if errs.is_empty() {
        match s.store.ship_parts(&cx.actor, &parts, &waybills).await {
            Ok(_) => return Redirect::to(&back).into_response(),
            // The store names the waybill's fields by index: the form has one of each.
            Err(StoreError::Invalid(e)) => {
                errs = e
                    .into_iter()
                    .map(|f| {
                        let name = f.field.rsplit('.').next().unwrap_or("waybill").to_string();
                        FieldError::new(name, f.reason)
                    })
                    .collect()
            }
            Err(e) => return cx.error_page(e, &back),
        }
    }
    let query = back
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .to_string();
    seller_page(
        &s,
        &cx,
        &query,
        Some((parts[0], &form, &errs)),
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// Parses the 代买 lines: one `SKU-code quantity` per line.
fn parse_lines(text: &str) -> Result<Vec<(String, i64)>, Vec<FieldError>> {
    let mut out = vec![];
    let mut errs = vec![];
    for (i, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let mut it = line.split_whitespace();
        let code = it.next().unwrap_or("").to_string();
        let qty = it.next().unwrap_or("1").parse::<i64>().ok();
        match qty {
            Some(q) if it.next().is_none() && !code.is_empty() => out.push((code, q)),
            _ => errs.push(FieldError::new(
                format!("lines[{i}]"),
                Reason::InvalidFormat,
            )),
        }
    }
    if out.is_empty() && errs.is_empty() {
        errs.push(FieldError::new("lines", Reason::Required));
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// The items of a `SKU-code quantity` list, and the errors of its lines (format, unknown
/// codes); `Err` only when the database fails.
async fn resolve_lines(
    s: &AppState,
    text: &str,
) -> Result<(Vec<ItemInput>, Vec<FieldError>), StoreError> {
    let lines = match parse_lines(text) {
        Ok(l) => l,
        Err(errs) => return Ok((vec![], errs)),
    };
    let mut items = vec![];
    let mut errs = vec![];
    for (i, (code, q)) in lines.iter().enumerate() {
        match s.store.sku_id_by_code(code).await {
            Ok(id) => items.push(ItemInput {
                sku_id: id,
                quantity: *q,
                expected_price_fen: None,
            }),
            Err(StoreError::NotFound) => errs.push(FieldError::new(
                format!("lines[{i}]"),
                Reason::UnknownReference,
            )),
            Err(e) => return Err(e),
        }
    }
    Ok((items, errs))
}

/// The 代买 screen after a search or a check: the amounts to confirm, when checked.
struct Review {
    /// "商品 ¥… + 运费 ¥… = 合计 ¥…".
    text: String,
    /// The total confirmed, fen: placing refuses another.
    total_fen: i64,
    /// The idempotency key of the confirmation: a second click places one order.
    key: String,
}

#[allow(clippy::too_many_arguments)]
async fn station_page(
    s: &AppState,
    cx: &Ctx,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    alert: Option<String>,
    review: Option<Review>,
    placed: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = cx.lang;
    let orders = match s.store.station_orders(&cx.actor).await {
        Ok(o) => o,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let picker = match crate::orders::picker::build(s, lang, values, errors).await {
        Ok(p) => p,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let orders = orders
        .into_iter()
        .map(|o| StationRow {
            id: o.id,
            name: o.villager_name.unwrap_or(o.recipient),
            status: status_name(cx, &o.status),
            total: Fen(o.total_fen).to_string(),
            pending_payment_id: o.pending_payment_id,
        })
        .collect();
    cx.render(
        status,
        &lang.t("station-title"),
        &StationPage {
            lang,
            csrf: &cx.csrf,
            alert,
            placed,
            f: FormView {
                lang,
                values,
                errors,
            },
            picker,
            review,
            orders,
        },
    )
}

/// The station agent's 代买 screen: the villager, the catalogue picker, the amounts to
/// confirm, and the orders of its service point.
#[derive(Template)]
#[template(path = "orders/manage_station.html")]
struct StationPage<'a> {
    lang: Lang,
    csrf: &'a str,
    alert: Option<String>,
    /// The confirmation of the order just placed.
    placed: Option<String>,
    f: FormView<'a>,
    picker: crate::orders::picker::Picker,
    review: Option<Review>,
    orders: Vec<StationRow>,
}

/// One order at the station.
struct StationRow {
    id: i64,
    /// The villager's name, or the recipient's.
    name: String,
    status: String,
    total: String,
    /// The cash payment waiting for the agent's confirmation.
    pending_payment_id: Option<i64>,
}

/// `GET /manage/station?placed=…`: the agent's 代买 screen and the orders of its service
/// point; after placing, the order just placed and what to do next.
pub async fn station(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let placed_id = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("placed=")))
        .and_then(|v| v.parse::<i64>().ok());
    let mut placed = None;
    if let Some(id) = placed_id
        && let Ok(orders) = s.store.station_orders(&cx.actor).await
        && let Some(o) = orders.into_iter().find(|o| o.id == id)
    {
        placed = Some(cx.lang.ta(
            "station-placed",
            &[
                ("id", id.into()),
                ("name", o.villager_name.unwrap_or(o.recipient).into()),
                ("total", Fen(o.total_fen).to_string().into()),
            ],
        ));
    }
    let none = HashMap::new();
    station_page(&s, &cx, &none, &[], None, None, placed, StatusCode::OK).await
}

/// `POST /manage/station` (`step`: `search`, `review` or `place`): searches the catalogue
/// keeping what was picked; checks the order (the amounts with shipping to the service point);
/// places the checked order for the villager, delivered to the service point and paid in cash
/// at the station — only at the amount the agent confirmed.
pub async fn station_order(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let step = text(&form, "step");
    let (items, mut errs) = crate::orders::picker::picked(&form);
    if step != "review" && step != "place" {
        let code = if errs.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        return station_page(&s, &cx, &form, &errs, None, None, None, code).await;
    }
    let name = text(&form, "villager_name");
    if name.trim().is_empty() {
        errs.push(FieldError::new("villager_name", Reason::Required));
    }
    if items.is_empty() && errs.is_empty() {
        errs.push(FieldError::new("items", Reason::Required));
    }
    if !errs.is_empty() {
        return station_page(
            &s,
            &cx,
            &form,
            &errs,
            None,
            None,
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let order = PlaceOrder {
        items,
        address_id: None,
        channel: Channel::Station,
        idempotency_key: Some(text(&form, "key"))
            .filter(|k| step == "place" && !k.is_empty() && k.len() <= 64),
        villager_name: Some(name.trim().chars().take(40).collect()),
        villager_ref: Some(text(&form, "villager_ref"))
            .map(|r| r.trim().chars().take(20).collect::<String>())
            .filter(|r| !r.is_empty()),
        pay_window_ms: s.pay_window_ms,
        institution: None,
    };
    let quote = match s.store.quote_order(&cx.actor, &order).await {
        Ok(q) => q,
        Err(e) => {
            let (code, errs, msg) = match e {
                StoreError::Invalid(errs) => (StatusCode::BAD_REQUEST, errs, None),
                StoreError::OutOfStock(skus) => (
                    StatusCode::CONFLICT,
                    vec![],
                    Some(crate::orders::pages::out_of_stock_text(&s, lang, &skus).await),
                ),
                e => {
                    let (code, msg) = cx.error_text(e);
                    (code, vec![], Some(msg))
                }
            };
            return station_page(&s, &cx, &form, &errs, msg, None, None, code).await;
        }
    };
    let review = Review {
        text: lang.ta(
            "station-review-total",
            &[
                ("items", Fen(quote.items_fen).to_string().into()),
                ("shipping", Fen(quote.shipping_fen).to_string().into()),
                ("total", Fen(quote.total_fen).to_string().into()),
            ],
        ),
        total_fen: quote.total_fen,
        key: bazaar_store::people::auth::new_secret()[..32].to_string(),
    };
    let confirmed = text(&form, "total").parse::<i64>().ok();
    if step == "review" || confirmed != Some(quote.total_fen) {
        // Checked, or changed since it was checked: show the amounts to confirm.
        let (alert, code) = if step == "place" {
            (Some(lang.t("station-total-changed")), StatusCode::CONFLICT)
        } else {
            (None, StatusCode::OK)
        };
        return station_page(&s, &cx, &form, &[], alert, Some(review), None, code).await;
    }
    match place_and_pay(&s, &cx, PaymentMethod::StationCash, &order).await {
        Ok(id) => Redirect::to(&format!("/manage/station?placed={id}")).into_response(),
        Err((status, errs, msg)) => {
            station_page(&s, &cx, &form, &errs, msg, None, None, status).await
        }
    }
}

/// Places an order from a back-office screen and starts its payment (a failure to start the
/// payment leaves the order waiting, and is logged). A refusal comes back as what the screen
/// shows: the status, the refused fields, or a message.
async fn place_and_pay(
    s: &AppState,
    cx: &Ctx,
    method: PaymentMethod,
    order: &PlaceOrder,
) -> Result<i64, (StatusCode, Vec<FieldError>, Option<String>)> {
    match s.store.place_order(&cx.actor, order).await {
        Ok(p) => {
            let id = p.order.row.id;
            // A replayed key (a second click) has its payment started already.
            if !p.replayed
                && let Err(e) = s.store.start_payment(&cx.actor, id, method).await
            {
                tracing::warn!(error = %e, method = method.as_str(), "starting the payment failed");
            }
            Ok(id)
        }
        Err(StoreError::Invalid(errs)) => Err((StatusCode::BAD_REQUEST, errs, None)),
        Err(e) => {
            let (status, msg) = cx.error_text(e);
            Err((status, vec![], Some(msg)))
        }
    }
}

/// `GET /manage/payments`: cash and transfers waiting for the caller's confirmation.
pub async fn payments(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let list = match s.store.pending_confirmations(&cx.actor).await {
        Ok(l) => l,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let payments = list
        .into_iter()
        .map(|p| PaymentRow {
            id: p.id,
            order_id: p.order_id,
            method: lang.t(&format!("pay-{}", p.method)),
            recipient: p.recipient,
            amount: Fen(p.amount_fen).to_string(),
        })
        .collect();
    cx.render(
        StatusCode::OK,
        &lang.t("payments-title"),
        &PaymentsPage {
            lang,
            csrf: &cx.csrf,
            payments,
        },
    )
}

/// The payments waiting for the caller's confirmation.
#[derive(Template)]
#[template(path = "payments/manage_payments.html")]
struct PaymentsPage<'a> {
    lang: Lang,
    csrf: &'a str,
    payments: Vec<PaymentRow>,
}

/// One payment to confirm.
struct PaymentRow {
    id: i64,
    order_id: i64,
    method: String,
    recipient: String,
    amount: String,
}

/// `POST /manage/payments/{id}/confirm`.
pub async fn confirm(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let back = if cx.actor.role == bazaar_domain::people::Role::Agent {
        "/manage/station"
    } else {
        "/manage/payments"
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, back);
    };
    match s.store.confirm_payment(&cx.actor, id).await {
        Ok(_) => Redirect::to(back).into_response(),
        Err(e) => cx.error_page(e, back),
    }
}

/// `GET /manage/refunds`: refund requests to decide (sellers) or arbitrate (operators).
pub async fn refunds(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let list = match s.store.refunds_to_decide(&cx.actor).await {
        Ok(l) => l,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let refunds = list
        .into_iter()
        .map(|r| RefundRow {
            id: r.id,
            order_id: r.order_id,
            amount: Fen(r.amount_fen).to_string(),
            status: lang.t(&format!("refund-status-{}", r.status)),
            reason: r.reason,
            decision_reason: r.decision_reason,
            photos: r.photos,
        })
        .collect();
    cx.render(
        StatusCode::OK,
        &lang.t("refunds-title"),
        &RefundsPage {
            lang,
            csrf: &cx.csrf,
            refunds,
        },
    )
}

/// The refund requests to decide or arbitrate.
#[derive(Template)]
#[template(path = "aftersales/manage_refunds.html")]
struct RefundsPage<'a> {
    lang: Lang,
    csrf: &'a str,
    refunds: Vec<RefundRow>,
}

/// One refund request.
struct RefundRow {
    id: i64,
    order_id: i64,
    reason: String,
    amount: String,
    status: String,
    decision_reason: Option<String>,
    /// Addresses of its photos.
    photos: Vec<String>,
}

/// `POST /manage/refunds/{id}/decision`.
pub async fn decide_refund(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/manage/refunds");
    };
    let approve = match text(&form, "decision").as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return cx.error_page(
                StoreError::Invalid(vec![FieldError::new("decision", Reason::UnknownChoice)]),
                "/manage/refunds",
            );
        }
    };
    let reason = text(&form, "reason");
    match s
        .store
        .decide_refund(&cx.actor, id, approve, Some(reason.as_str()))
        .await
    {
        Ok(_) => Redirect::to("/manage/refunds").into_response(),
        Err(e) => cx.error_page(e, "/manage/refunds"),
    }
}

async fn procurement_page(
    s: &AppState,
    cx: &Ctx,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = cx.lang;
    let year = Zone::Shanghai
        .format_ms(bazaar_domain::time::now_ms())
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2026);
    let report = match s.store.institution_purchases(&cx.actor, year).await {
        Ok(r) => r,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let orders = match s
        .store
        .my_orders(&cx.actor, bazaar_store::Cursor(0), Some(20))
        .await
    {
        Ok(p) => p.items,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let year = lang.ta(
        "procurement-year",
        &[
            ("year", year.into()),
            ("total", Fen(report.total_fen).to_string().into()),
            ("poverty", Fen(report.poverty_fen).to_string().into()),
        ],
    );
    let orders = orders
        .into_iter()
        .map(|o| ProcurementRow {
            id: o.id,
            status: status_name(cx, &o.status),
            total: Fen(o.total_fen).to_string(),
            date: o.delivery_date.unwrap_or_default(),
        })
        .collect();
    cx.render(
        status,
        &lang.t("procurement-title"),
        &ProcurementPage {
            lang,
            csrf: &cx.csrf,
            year,
            alert,
            f: FormView {
                lang,
                values,
                errors,
            },
            orders,
        },
    )
}

/// An institution's procurement page: its figure for the year, the order form, its orders.
#[derive(Template)]
#[template(path = "orders/manage_procurement.html")]
struct ProcurementPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// The year's figure, as a sentence.
    year: String,
    alert: Option<String>,
    f: FormView<'a>,
    orders: Vec<ProcurementRow>,
}

/// One of the institution's orders.
struct ProcurementRow {
    id: i64,
    status: String,
    total: String,
    date: String,
}

/// `GET /manage/procurement`: an institution's bulk orders and its yearly figure (消费扶贫).
pub async fn procurement(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    procurement_page(&s, &cx, &HashMap::new(), &[], None, StatusCode::OK).await
}

/// `POST /manage/procurement`: places an institutional order, paid by bank transfer that an
/// operator confirms.
pub async fn procurement_order(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (items, mut errs) = match resolve_lines(&s, &text(&form, "lines")).await {
        Ok(r) => r,
        Err(e) => return cx.error_page(e, "/manage/procurement"),
    };
    let b = crate::orders::api::OrderBody {
        delivery_date: Some(text(&form, "delivery_date")),
        invoice_title: Some(text(&form, "invoice_title")),
        invoice_tax_id: Some(text(&form, "invoice_tax_id")),
        ..Default::default()
    };
    let details = crate::orders::api::institution_details(&b, &mut errs);
    let details = match details {
        Some(d) if errs.is_empty() => d,
        _ => return procurement_page(&s, &cx, &form, &errs, None, StatusCode::BAD_REQUEST).await,
    };
    let placed = place_and_pay(
        &s,
        &cx,
        PaymentMethod::BankTransfer,
        &PlaceOrder {
            items,
            address_id: None,
            channel: Channel::Institution,
            idempotency_key: None,
            villager_name: None,
            villager_ref: None,
            pay_window_ms: s.pay_window_ms.max(7 * 24 * 3600 * 1000),
            institution: Some(details),
        },
    )
    .await;
    match placed {
        Ok(_) => Redirect::to("/manage/procurement").into_response(),
        Err((status, errs, msg)) => procurement_page(&s, &cx, &form, &errs, msg, status).await,
    }
}

#[cfg(test)]
mod tests {
    use super::form_pairs;

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_body_decodes_without_panicking(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = form_pairs(&b);
        }
    }

    #[test]
    fn repeated_form_fields() {
        assert_eq!(
            form_pairs(b"csrf=ab&part=1&part=2&x=%E8%9C%82+%zz"),
            vec![
                ("csrf".to_string(), "ab".to_string()),
                ("part".to_string(), "1".to_string()),
                ("part".to_string(), "2".to_string()),
                ("x".to_string(), "蜂 %zz".to_string()),
            ]
        );
        assert!(form_pairs(b"").is_empty());
        let _ = form_pairs(b"%");
        let _ = form_pairs(b"a=%4");
    }
}
