//! Orders in the back office: the seller's list with bulk "mark shipped", the station agent's
//! 代买 screen and cash collection, and the confirmation queue of cash and transfers.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::forms::{FormView, text};
use crate::app::i18n::Lang;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::money::Fen;
use bazaar_domain::orders::{Channel, ItemInput, OrderStatus, PaymentMethod};
use bazaar_domain::time::Zone;
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use bazaar_store::orders::PlaceOrder;
use std::collections::HashMap;

fn status_name(cx: &Ctx, s: &str) -> String {
    cx.lang.t(&format!("order-status-{s}"))
}

/// `GET /manage/orders?status=…`: the seller's parts of orders; open parts of paid orders can
/// be marked shipped together.
pub async fn seller_orders(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let wanted = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("status=")))
        .filter(|v| !v.is_empty());
    let status = match wanted.map(|v| OrderStatus::parse("status", v)) {
        None => None,
        Some(Ok(st)) => Some(st),
        Some(Err(e)) => return cx.error_page(StoreError::Invalid(vec![e]), "/manage/orders"),
    };
    let parts = match s.store.seller_parts(&cx.actor, status).await {
        Ok(p) => p,
        Err(e) => return cx.error_page(e, "/manage"),
    };
    let statuses = OrderStatus::ALL
        .into_iter()
        .map(|st| {
            (
                st.as_str(),
                status_name(&cx, st.as_str()),
                status == Some(st),
            )
        })
        .collect();
    let parts = parts
        .into_iter()
        .map(|p| PartRow {
            can_ship: p.part_status == "open"
                && matches!(p.order_status.as_str(), "paid" | "fulfilling"),
            part_id: p.part_id,
            order_id: p.order_id,
            status: status_name(&cx, &p.order_status),
            shipped: p.part_status == "shipped",
            created: Zone::Shanghai.format_ms(p.created_at),
            total: Fen(p.items_fen).to_string(),
            recipient: p.recipient,
        })
        .collect();
    cx.render(
        StatusCode::OK,
        &lang.t("orders-seller-title"),
        &SellerOrders {
            lang,
            csrf: &cx.csrf,
            statuses,
            parts,
        },
    )
}

/// The seller's orders: the status filter, and the parts of orders with the boxes of those
/// that can be marked shipped.
#[derive(Template)]
#[template(path = "orders/manage_seller_orders.html")]
struct SellerOrders<'a> {
    lang: Lang,
    csrf: &'a str,
    /// Every order status: value, name, chosen.
    statuses: Vec<(&'static str, String, bool)>,
    parts: Vec<PartRow>,
}

/// One part of an order, as its seller sees it.
struct PartRow {
    /// Open and paid for: it can be marked shipped.
    can_ship: bool,
    part_id: i64,
    order_id: i64,
    status: String,
    /// The part itself is shipped.
    shipped: bool,
    recipient: String,
    created: String,
    total: String,
}

/// `POST /manage/orders/ship` (form fields `part`, repeated): bulk "mark shipped".
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
    if parts.is_empty() {
        return cx.error_page(
            StoreError::Invalid(vec![FieldError::new("part_ids", Reason::Required)]),
            "/manage/orders",
        );
    }
    match s.store.ship_parts(&cx.actor, &parts, &[]).await {
        Ok(_) => Redirect::to("/manage/orders").into_response(),
        Err(e) => cx.error_page(e, "/manage/orders"),
    }
}

/// The pairs of an `application/x-www-form-urlencoded` body, decoded.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .take(500)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
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

async fn station_page(
    s: &AppState,
    cx: &Ctx,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = cx.lang;
    let orders = match s.store.station_orders(&cx.actor).await {
        Ok(o) => o,
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
            f: FormView {
                lang,
                values,
                errors,
            },
            orders,
        },
    )
}

/// The station agent's 代买 screen: the order form, and the orders of its service point.
#[derive(Template)]
#[template(path = "orders/manage_station.html")]
struct StationPage<'a> {
    lang: Lang,
    csrf: &'a str,
    alert: Option<String>,
    f: FormView<'a>,
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

/// `GET /manage/station`: the agent's 代买 screen and the orders of its service point.
pub async fn station(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    station_page(&s, &cx, &HashMap::new(), &[], None, StatusCode::OK).await
}

/// `POST /manage/station`: places an order for a villager, delivered to the service point and
/// paid in cash at the station.
pub async fn station_order(
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
        Err(e) => return cx.error_page(e, "/manage/station"),
    };
    let name = text(&form, "villager_name");
    if name.trim().is_empty() {
        errs.push(FieldError::new("villager_name", Reason::Required));
    }
    if !errs.is_empty() {
        return station_page(&s, &cx, &form, &errs, None, StatusCode::BAD_REQUEST).await;
    }
    let placed = place_and_pay(
        &s,
        &cx,
        PaymentMethod::StationCash,
        &PlaceOrder {
            items,
            address_id: None,
            channel: Channel::Station,
            idempotency_key: None,
            villager_name: Some(name.trim().chars().take(40).collect()),
            villager_ref: Some(text(&form, "villager_ref"))
                .map(|r| r.trim().chars().take(20).collect::<String>())
                .filter(|r| !r.is_empty()),
            pay_window_ms: s.pay_window_ms,
            institution: None,
        },
    )
    .await;
    match placed {
        Ok(()) => Redirect::to("/manage/station").into_response(),
        Err((status, errs, msg)) => station_page(&s, &cx, &form, &errs, msg, status).await,
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
) -> Result<(), (StatusCode, Vec<FieldError>, Option<String>)> {
    match s.store.place_order(&cx.actor, order).await {
        Ok(p) => {
            if let Err(e) = s
                .store
                .start_payment(&cx.actor, p.order.row.id, method)
                .await
            {
                tracing::warn!(error = %e, method = method.as_str(), "starting the payment failed");
            }
            Ok(())
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
        Ok(()) => Redirect::to("/manage/procurement").into_response(),
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
