//! The buyer's pages: cart (kept in a cookie, so it works before signing in), checkout, my
//! orders with their status timeline, and the sandbox provider's payment page.

use crate::AppState;
use crate::backoffice::Ctx;
use crate::backoffice::forms::{FormView, Upload, read_multipart, text};
use crate::i18n::Lang;
use crate::pages::{esc, page_lang};
use crate::session::{csrf_cookie, csrf_ok, csrf_token, forbidden_csrf, set_cookie};
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::money::Fen;
use bazaar_domain::network::NodeKind;
use bazaar_domain::orders::{Channel, ItemInput, PaymentMethod};
use bazaar_domain::text::mask_phone;
use bazaar_domain::time::Zone;
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use bazaar_store::network::NodeFilter;
use bazaar_store::orders::{Order, PlaceOrder};
use bazaar_store::payments::{Notification, PaymentProvider};
use std::collections::HashMap;

const CART: &str = "bz_cart";
/// The most lines a cart holds.
pub const MAX_CART_LINES: usize = 30;

/// One cart line: a SKU, how many, and the unit price the buyer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartLine {
    /// SKU.
    pub sku_id: i64,
    /// Units (1 to 9,999).
    pub quantity: i64,
    /// Unit price when added, fen.
    pub price_fen: i64,
}

/// Reads the cart cookie (`sku:qty:price|…`); anything malformed is dropped, never an error.
pub fn parse_cart(v: &str) -> Vec<CartLine> {
    let mut out: Vec<CartLine> = vec![];
    for part in v.split('|').take(MAX_CART_LINES) {
        let mut f = part.split(':').map(|x| x.parse::<i64>().ok());
        if let (Some(Some(sku_id)), Some(Some(quantity)), Some(Some(price_fen)), None) =
            (f.next(), f.next(), f.next(), f.next())
            && sku_id > 0
            && (1..=bazaar_domain::orders::MAX_QUANTITY).contains(&quantity)
            && price_fen > 0
            && !out.iter().any(|l| l.sku_id == sku_id)
        {
            out.push(CartLine {
                sku_id,
                quantity,
                price_fen,
            });
        }
    }
    out
}

/// The cookie text of a cart.
pub fn cart_value(lines: &[CartLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{}:{}:{}", l.sku_id, l.quantity, l.price_fen))
        .collect::<Vec<_>>()
        .join("|")
}

fn cart_of(h: &HeaderMap) -> Vec<CartLine> {
    crate::session::cookie(h, CART)
        .map(|c| parse_cart(&c))
        .unwrap_or_default()
}

fn with_cart(mut res: Response, lines: &[CartLine]) -> Response {
    let v = if lines.is_empty() {
        format!("{CART}=; Path=/; SameSite=Lax; Max-Age=0")
    } else {
        format!(
            "{CART}={}; Path=/; SameSite=Lax; Max-Age=2592000",
            cart_value(lines)
        )
    };
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A product's "add to cart" form for one SKU (shown on the product page).
pub fn add_form(lang: Lang, csrf: &str, sku_id: i64) -> String {
    format!(
        "<form method=\"post\" action=\"/cart\" style=\"display:inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"add\">\
<input type=\"hidden\" name=\"sku_id\" value=\"{sku_id}\">\
<input name=\"quantity\" value=\"1\" size=\"2\" inputmode=\"numeric\" aria-label=\"{q}\"> \
<button id=\"add-{sku_id}\">{b}</button></form>",
        q = esc(&lang.t("cart-quantity")),
        b = esc(&lang.t("cart-add")),
    )
}

/// `POST /cart`: add, set the quantity of, or remove a line.
pub async fn cart_post(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang = Lang::negotiate(&h, None);
    if !csrf_ok(&h, &form) {
        return forbidden_csrf(lang);
    }
    let mut lines = cart_of(&h);
    let sku_id = form
        .get("sku_id")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let quantity = form
        .get("quantity")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let bad = |field: &str, reason: &str| {
        crate::pages::message_page(
            lang,
            StatusCode::BAD_REQUEST,
            &crate::error::field_message(lang, field, reason),
        )
    };
    match form.get("action").map(String::as_str) {
        Some("remove") => lines.retain(|l| l.sku_id != sku_id),
        Some(a @ ("add" | "set")) => {
            let Some(q) =
                quantity.filter(|q| (1..=bazaar_domain::orders::MAX_QUANTITY).contains(q))
            else {
                return bad("quantity", "out_of_range");
            };
            let sku = match s.store.sku(sku_id).await {
                Ok(k) => k,
                Err(StoreError::NotFound) => return bad("sku_id", "unknown_reference"),
                Err(e) => return crate::pages::internal(e),
            };
            let full = lines.len() >= MAX_CART_LINES;
            match lines.iter_mut().find(|l| l.sku_id == sku_id) {
                Some(l) => {
                    l.quantity = if a == "add" {
                        (l.quantity + q).min(bazaar_domain::orders::MAX_QUANTITY)
                    } else {
                        q
                    };
                    l.price_fen = sku.price_fen;
                }
                None if full => return bad("sku_id", "out_of_range"),
                None => lines.push(CartLine {
                    sku_id,
                    quantity: q,
                    price_fen: sku.price_fen,
                }),
            }
        }
        _ => return bad("action", "unknown_choice"),
    }
    with_cart(Redirect::to("/cart").into_response(), &lines)
}

struct Row {
    line: CartLine,
    name: String,
    spec: String,
    product_id: i64,
    now_price: i64,
}

async fn rows(s: &AppState, lines: &[CartLine]) -> Result<Vec<Row>, StoreError> {
    let mut out = vec![];
    for l in lines {
        let sku = match s.store.sku(l.sku_id).await {
            Ok(k) => k,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let p = s.store.product(sku.product_id).await?;
        out.push(Row {
            line: *l,
            name: p.row.name,
            spec: sku.spec,
            product_id: sku.product_id,
            now_price: sku.price_fen,
        });
    }
    Ok(out)
}

fn cart_table(lang: Lang, csrf: &str, rows: &[Row], editable: bool) -> String {
    let mut o = String::from("<table>");
    let mut total = 0;
    for r in rows {
        let line = r.now_price * r.line.quantity;
        total += line;
        o.push_str(&format!(
            "<tr><td><a href=\"/products/{}\">{}</a><br><small>{}</small></td><td>{}</td><td>",
            r.product_id,
            esc(&r.name),
            esc(&r.spec),
            Fen(r.now_price),
        ));
        if editable {
            o.push_str(&format!(
                "<form method=\"post\" action=\"/cart\" style=\"display:inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"set\">\
<input type=\"hidden\" name=\"sku_id\" value=\"{id}\"><input name=\"quantity\" value=\"{q}\" size=\"2\" inputmode=\"numeric\" aria-label=\"{ql}\">\
<button>{u}</button></form> <form method=\"post\" action=\"/cart\" style=\"display:inline\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"remove\">\
<input type=\"hidden\" name=\"sku_id\" value=\"{id}\"><button>{rm}</button></form>",
                id = r.line.sku_id,
                q = r.line.quantity,
                ql = esc(&lang.t("cart-quantity")),
                u = esc(&lang.t("cart-update")),
                rm = esc(&lang.t("cart-remove")),
            ));
        } else {
            o.push_str(&format!("× {}", r.line.quantity));
        }
        o.push_str(&format!("</td><td class=\"p\">{}</td></tr>", Fen(line)));
        if r.now_price != r.line.price_fen {
            o.push_str(&format!(
                "<tr><td colspan=\"4\" class=\"err\">{}</td></tr>",
                esc(&lang.ta(
                    "cart-price-changed",
                    &[
                        ("was", Fen(r.line.price_fen).to_string().into()),
                        ("now", Fen(r.now_price).to_string().into()),
                    ]
                ))
            ));
        }
    }
    o.push_str(&format!(
        "<tr><th colspan=\"3\">{}</th><th class=\"p\">{}</th></tr></table>",
        esc(&lang.t("cart-subtotal")),
        Fen(total)
    ));
    o
}

/// `GET /cart`.
pub async fn cart(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let lang = page_lang(&h, &uri);
    let (csrf, new) = csrf_token(&h);
    let lines = cart_of(&h);
    let rows = match rows(&s, &lines).await {
        Ok(r) => r,
        Err(e) => return crate::pages::internal(e),
    };
    let body = if rows.is_empty() {
        format!("<p>{}</p>", esc(&lang.t("cart-empty")))
    } else {
        format!(
            "{}<p><a href=\"/checkout\" id=\"checkout\"><b>{}</b></a></p>",
            cart_table(lang, &csrf, &rows, true),
            esc(&lang.t("cart-checkout"))
        )
    };
    let title = lang.t("cart-title");
    let mut res =
        crate::pages::layout(lang, &title, "", &format!("<h1>{}</h1>{body}", esc(&title)))
            .into_response();
    if new {
        set_cookie(&mut res, csrf_cookie(&csrf));
    }
    res
}

fn method_options(lang: Lang, has_node: bool, sandbox: bool) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if sandbox {
        v.push((
            PaymentMethod::Sandbox.as_str().to_string(),
            lang.t("pay-sandbox"),
        ));
    }
    if has_node {
        v.push((
            PaymentMethod::StationCash.as_str().to_string(),
            lang.t("pay-station_cash"),
        ));
    }
    v.push((
        PaymentMethod::BankTransfer.as_str().to_string(),
        lang.t("pay-bank_transfer"),
    ));
    v
}

async fn checkout_page(
    s: &AppState,
    cx: &Ctx,
    h: &HeaderMap,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = cx.lang;
    let lines = cart_of(h);
    let rows = match rows(s, &lines).await {
        Ok(r) => r,
        Err(e) => return crate::pages::internal(e),
    };
    if rows.is_empty() {
        return Redirect::to("/cart").into_response();
    }
    let addresses = match s.store.addresses(&cx.actor).await {
        Ok(a) => a,
        Err(e) => return crate::pages::internal(e),
    };
    let f = FormView {
        lang,
        values,
        errors,
    };
    let mut body = alert
        .map(|a| format!("<p role=\"alert\" class=\"err\">{}</p>", esc(&a)))
        .unwrap_or_default();
    body.push_str(&cart_table(lang, &cx.csrf, &rows, false));
    if addresses.is_empty() {
        body.push_str(&format!("<p>{}</p>", esc(&lang.t("checkout-no-address"))));
    } else {
        let mut opts: Vec<(String, String)> = Vec::with_capacity(addresses.len());
        for a in &addresses {
            // The place by name: the last three levels of its region (county, township,
            // village), as the buyer picked it.
            let place = match s.store.region(&a.region_code).await {
                Ok(r) => {
                    let trail = s.store.region_trail(&r.path).await.unwrap_or_default();
                    let skip = trail.len().saturating_sub(3);
                    trail
                        .iter()
                        .skip(skip)
                        .map(|r| region_name(lang, r))
                        .collect::<Vec<_>>()
                        .join(" ")
                }
                Err(_) => a.region_code.clone(),
            };
            opts.push((
                a.id.to_string(),
                format!(
                    "{} {} · {} {}",
                    a.recipient,
                    mask_phone(&a.phone),
                    place,
                    a.detail.clone().unwrap_or_default()
                ),
            ));
        }
        let has_node = addresses.iter().any(|a| a.node_code.is_some());
        let sandbox = s.store.payment_sandbox().await.unwrap_or(false);
        // A fresh idempotency key per checkout page: a double click places one order.
        let key = bazaar_store::auth::new_secret();
        body.push_str(&format!(
            "<form method=\"post\" action=\"/checkout\">{}<input type=\"hidden\" name=\"key\" value=\"{}\">{}{}\
<p><small>{}</small></p><p><button id=\"place-order\">{}</button></p></form>",
            cx.csrf_input(),
            &key[..32],
            f.select("address_id", "checkout-address", &opts),
            f.select("method", "checkout-method", &method_options(lang, has_node, sandbox)),
            esc(&lang.t("checkout-shipping-note")),
            esc(&lang.t("checkout-place")),
        ));
    }
    body.push_str(&format!(
        "<h2 id=\"new-address\">{}</h2>",
        esc(&lang.t("checkout-new-address"))
    ));
    let region = values
        .get("region_code")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    body.push_str(&region_picker(s, lang, region.as_deref()).await);
    // The service points of the chosen township or village, to deliver there instead.
    let mut points = vec![(String::new(), lang.t("address-to-door"))];
    if let Some(code) = &region
        && let Ok(r) = s.store.region(code).await
        && matches!(r.level.as_str(), "township" | "village")
    {
        let filter = NodeFilter {
            region_code: Some(code.clone()),
            kind: Some(NodeKind::VillagePoint),
            cursor: Default::default(),
            limit: Some(50),
        };
        if let Ok((nodes, _)) = s.store.nodes(&filter).await {
            points.extend(nodes.into_iter().map(|n| (n.code, n.name)));
        }
    }
    let node_select = if points.len() > 1 {
        f.select("node_code", "field-node_code", &points)
    } else {
        String::new()
    };
    body.push_str(&format!(
        "<form method=\"post\" action=\"/addresses\">{}<input type=\"hidden\" name=\"region_code\" value=\"{}\">{}{}{}{}{}<button>{}</button></form>",
        cx.csrf_input(),
        esc(region.as_deref().unwrap_or("")),
        f.summary(),
        node_select,
        f.input("recipient", "field-recipient", " required maxlength=\"40\""),
        f.input("phone", "field-phone", " type=\"tel\" required inputmode=\"tel\""),
        f.input("detail", "field-address", " maxlength=\"120\""),
        esc(&lang.t("manage-save")),
    ));
    cx.plain_page(status, &lang.t("checkout-title"), &body)
}

/// A region's name in `lang` (the English name where there is one).
fn region_name(lang: Lang, r: &bazaar_store::network::Region) -> String {
    match (lang, &r.name_en) {
        (Lang::En, Some(en)) if !en.is_empty() => en.clone(),
        _ => r.name.clone(),
    }
}

/// The region tree picker of the address form: the chosen region's trail (each step a link
/// back up) and a list of its children to go one level down. Works without JavaScript (a
/// GET form to the checkout page); with it, choosing submits at once.
async fn region_picker(s: &AppState, lang: Lang, chosen: Option<&str>) -> String {
    let current = match chosen {
        Some(c) => s.store.region(c).await.ok(),
        None => None,
    };
    let mut out = String::from(
        "<nav class=\"trail\" aria-label=\"region\"><a href=\"/checkout#new-address\">",
    );
    out.push_str(&esc(&lang.t("address-all-regions")));
    out.push_str("</a>");
    if let Some(r) = &current
        && let Ok(trail) = s.store.region_trail(&r.path).await
    {
        for t in trail {
            out.push_str(&format!(
                " › <a href=\"/checkout?region={}#new-address\">{}</a>",
                esc(&t.code),
                esc(&region_name(lang, &t))
            ));
        }
    }
    out.push_str("</nav>");
    let children = s
        .store
        .region_children(current.as_ref().map(|r| r.code.as_str()))
        .await
        .unwrap_or_default();
    if !children.is_empty() {
        out.push_str(&format!(
            "<form method=\"get\" action=\"/checkout#new-address\"><label>{}<br>\
<select name=\"region\" data-autosubmit><option value=\"{}\">—</option>",
            esc(&lang.t(if current.is_some() {
                "address-next-level"
            } else {
                "address-province"
            })),
            esc(current.as_ref().map(|r| r.code.as_str()).unwrap_or("")),
        ));
        for c in &children {
            out.push_str(&format!(
                "<option value=\"{}\">{}</option>",
                esc(&c.code),
                esc(&region_name(lang, c))
            ));
        }
        out.push_str(&format!(
            "</select></label> <noscript><button>{}</button></noscript></form>\
<script src=\"/assets/autosubmit.js\" defer></script>",
            esc(&lang.t("address-pick"))
        ));
    }
    out
}

/// `GET /checkout` (signed in).
pub async fn checkout(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // `?region=CODE`: where the region picker of the address form stands.
    let mut values = HashMap::new();
    if let Some(q) = uri.query() {
        for (k, v) in q.split('&').filter_map(|kv| kv.split_once('=')) {
            // Region codes are digits: anything else is ignored.
            if k == "region" && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) {
                values.insert("region_code".to_string(), v.to_string());
            }
        }
    }
    checkout_page(&s, &cx, &h, &values, &[], None, StatusCode::OK).await
}

/// `POST /addresses`: adds an address from the checkout page.
pub async fn add_address(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let b = crate::orders_api::AddressBody {
        recipient: text(&form, "recipient"),
        phone: text(&form, "phone"),
        region_code: text(&form, "region_code"),
        node_code: Some(text(&form, "node_code")).filter(|n| !n.trim().is_empty()),
        detail: Some(text(&form, "detail")),
        is_default: true,
    };
    let r = match crate::orders_api::check_address(&b) {
        Ok(a) => s.store.add_address(&cx.actor, &a).await,
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match r {
        Ok(_) => Redirect::to("/checkout").into_response(),
        Err(StoreError::Invalid(errs)) => {
            checkout_page(&s, &cx, &h, &form, &errs, None, StatusCode::BAD_REQUEST).await
        }
        Err(e) => cx.error_page(e, "/checkout"),
    }
}

/// `POST /checkout`: places the order with the prices the buyer saw (a changed price sends
/// the buyer back to confirm), then starts the payment.
pub async fn place(
    State(s): State<AppState>,
    h: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let lines = cart_of(&h);
    if lines.is_empty() {
        return Redirect::to("/cart").into_response();
    }
    let method = match PaymentMethod::parse("method", &text(&form, "method")) {
        Ok(m) => m,
        Err(e) => {
            return checkout_page(&s, &cx, &h, &form, &[e], None, StatusCode::BAD_REQUEST).await;
        }
    };
    let address_id = text(&form, "address_id").trim().parse::<i64>().ok();
    let key = Some(text(&form, "key")).filter(|k| !k.is_empty() && k.len() <= 64);
    let placed = s
        .store
        .place_order(
            &cx.actor,
            &PlaceOrder {
                items: lines
                    .iter()
                    .map(|l| ItemInput {
                        sku_id: l.sku_id,
                        quantity: l.quantity,
                        expected_price_fen: Some(l.price_fen),
                    })
                    .collect(),
                address_id,
                channel: Channel::Storefront,
                idempotency_key: key,
                villager_name: None,
                villager_ref: None,
                pay_window_ms: s.pay_window_ms,
                institution: None,
            },
        )
        .await;
    let order = match placed {
        Ok(p) => p.order,
        Err(StoreError::PriceChanged(changes)) => {
            // Take the new prices into the cart and ask the buyer to confirm.
            let mut lines = lines;
            for (sku, _, now) in changes {
                if let Some(l) = lines.iter_mut().find(|l| l.sku_id == sku) {
                    l.price_fen = now;
                }
            }
            let msg = lang.t("error-price_changed");
            let res = checkout_page(&s, &cx, &h, &form, &[], Some(msg), StatusCode::CONFLICT).await;
            return with_cart(res, &lines);
        }
        Err(StoreError::Invalid(errs)) => {
            return checkout_page(&s, &cx, &h, &form, &errs, None, StatusCode::BAD_REQUEST).await;
        }
        Err(e) => {
            let (status, msg) = cx.error_text(e);
            return checkout_page(&s, &cx, &h, &form, &[], Some(msg), status).await;
        }
    };
    let id = order.row.id;
    let next = match s.store.start_payment(&cx.actor, id, method).await {
        Ok(p) if method == PaymentMethod::Sandbox => format!("/pay/sandbox/{}", p.provider_ref),
        Ok(_) => format!("/orders/{id}"),
        Err(e) => {
            tracing::warn!(error = %e, order = id, "starting payment failed");
            format!("/orders/{id}")
        }
    };
    with_cart(Redirect::to(&next).into_response(), &[])
}

fn status_label(lang: Lang, status: &str) -> String {
    lang.t(&format!("order-status-{status}"))
}

/// `GET /orders`: my orders.
pub async fn my_orders(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    let page = match s
        .store
        .my_orders(&cx.actor, bazaar_store::Cursor(0), Some(50))
        .await
    {
        Ok(p) => p,
        Err(e) => return crate::pages::internal(e),
    };
    let mut body = String::from("<ul>");
    if page.items.is_empty() {
        body.push_str(&format!("<li>{}</li>", esc(&lang.t("manage-nothing"))));
    }
    for o in &page.items {
        body.push_str(&format!(
            "<li><a href=\"/orders/{id}\">#{id}</a> · {} · <b class=\"order-status\">{}</b> · <span class=\"p\">{}</span></li>",
            esc(&Zone::Shanghai.format_ms(o.created_at)),
            esc(&status_label(lang, &o.status)),
            Fen(o.total_fen),
            id = o.id,
        ));
    }
    body.push_str("</ul>");
    cx.plain_page(StatusCode::OK, &lang.t("orders-title"), &body)
}

fn order_body(lang: Lang, cx: &Ctx, o: &Order, sandbox: bool) -> String {
    let r = &o.row;
    let mut body = format!(
        "<p><b class=\"order-status\">{}</b> · {} {}</p><table>",
        esc(&status_label(lang, &r.status)),
        esc(&lang.t("order-total")),
        Fen(r.total_fen),
    );
    for l in &o.lines {
        body.push_str(&format!(
            "<tr><td><a href=\"/products/{}\">{}</a> <small>{}</small></td><td>× {}</td><td>{}</td></tr>",
            l.product_id,
            esc(&l.name),
            esc(&l.spec),
            l.quantity,
            Fen(l.line_fen)
        ));
    }
    body.push_str(&format!(
        "<tr><td colspan=\"2\">{}</td><td>{}</td></tr></table><p>{} {} · {}</p>",
        esc(&lang.t("order-shipping")),
        Fen(r.shipping_fen),
        esc(&r.recipient),
        esc(&mask_phone(&r.phone)),
        esc(r.address_detail.as_deref().unwrap_or(&r.region_code)),
    ));
    if r.status == "pending_payment" {
        body.push_str(&format!(
            "<p>{}</p><form method=\"post\" action=\"/orders/{id}/pay\" style=\"display:inline\">{csrf}\
<select name=\"method\" aria-label=\"{ml}\">{opts}</select> <button>{pay}</button></form> \
<form method=\"post\" action=\"/orders/{id}/cancel\" style=\"display:inline\">{csrf}<button>{cancel}</button></form>",
            esc(&lang.ta(
                "order-pay-by",
                &[("time", Zone::Shanghai.format_ms(r.pay_by).into())]
            )),
            id = r.id,
            csrf = cx.csrf_input(),
            ml = esc(&lang.t("checkout-method")),
            opts = method_options(lang, r.node_code.is_some(), sandbox)
                .into_iter()
                .map(|(v, t)| format!("<option value=\"{v}\">{}</option>", esc(&t)))
                .collect::<String>(),
            pay = esc(&lang.t("order-pay")),
            cancel = esc(&lang.t("order-cancel")),
        ));
    }
    let own = r.placed_by == cx.actor.user_id || r.buyer_id == Some(cx.actor.user_id);
    if own && matches!(r.status.as_str(), "shipped" | "delivered") {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/orders/{}/receive\">{}<button>{}</button></form>",
            r.id,
            cx.csrf_input(),
            esc(&lang.t("order-receive")),
        ));
    }
    if own
        && matches!(
            r.status.as_str(),
            "paid" | "fulfilling" | "shipped" | "delivered" | "completed"
        )
    {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/orders/{}/refund\" enctype=\"multipart/form-data\">{}<label>{}<br>\
<input name=\"reason\" required maxlength=\"500\"></label> \
<label>{}<br><input type=\"file\" name=\"photos\" accept=\"image/jpeg,image/png,image/webp\" multiple></label> \
<button>{}</button></form>",
            r.id,
            cx.csrf_input(),
            esc(&lang.t("refund-reason")),
            esc(&lang.t("refund-photos")),
            esc(&lang.t("refund-request")),
        ));
    }
    body.push_str(&format!("<h2>{}</h2><ol>", esc(&lang.t("order-timeline"))));
    for e in &o.events {
        body.push_str(&format!(
            "<li>{} · {}{}</li>",
            esc(&Zone::Shanghai.format_ms(e.at)),
            esc(&status_label(lang, &e.to_status)),
            e.reason
                .as_deref()
                .map(|x| format!(" <small>({})</small>", esc(x)))
                .unwrap_or_default()
        ));
    }
    body.push_str("</ol>");
    body
}

/// The order's parcels, each with one timeline of our scans and the carrier's events, newest
/// first, in Beijing time.
fn tracking_html(lang: Lang, parcels: &[bazaar_store::parcels::Tracked]) -> String {
    if parcels.is_empty() {
        return String::new();
    }
    let mut o = format!("<h2>{}</h2>", esc(&lang.t("tracking-title")));
    for t in parcels {
        let carrier = bazaar_domain::logistics::carrier(&t.parcel.carrier)
            .map(|c| if lang == Lang::En { c.name_en } else { c.name })
            .unwrap_or(t.parcel.carrier.as_str());
        o.push_str(&format!(
            "<p>{} <code>{}</code> · <b>{}</b></p><ol reversed>",
            esc(carrier),
            esc(&t.parcel.waybill),
            esc(&lang.t(&format!("parcel-state-{}", t.parcel.state)))
        ));
        for e in t.events.iter().rev() {
            let what = match (&e.state, &e.note) {
                (_, Some(n)) => n.clone(),
                (Some(st), None) => lang.t(&format!("parcel-state-{st}")),
                (None, None) => e.code.clone(),
            };
            o.push_str(&format!(
                "<li>{} · {}{}</li>",
                esc(&Zone::Shanghai.format_ms(e.at)),
                esc(&what),
                e.place
                    .as_deref()
                    .or(e.node_code.as_deref())
                    .map(|p| format!(" <small>({})</small>", esc(p)))
                    .unwrap_or_default()
            ));
        }
        o.push_str("</ol>");
    }
    o
}

/// `GET /orders/{id}`: an order with its status timeline.
pub async fn order(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/orders");
    };
    match s.store.order(&cx.actor, id).await {
        Ok(o) => {
            let title = cx.lang.ta("order-title", &[("id", id.into())]);
            let sandbox = s.store.payment_sandbox().await.unwrap_or(false);
            let mut body = order_body(cx.lang, &cx, &o, sandbox);
            if let Ok(parcels) = s.store.order_parcels(&cx.actor, id).await {
                body.push_str(&tracking_html(cx.lang, &parcels));
            }
            cx.plain_page(StatusCode::OK, &title, &body)
        }
        Err(e) => cx.error_page(e, "/orders"),
    }
}

/// The start of a form posted from an order page: the signed-in context (CSRF checked) and
/// the order id, or the page to answer.
async fn order_form(
    s: &AppState,
    h: &HeaderMap,
    form: &HashMap<String, String>,
    id: &str,
) -> Result<(Ctx, i64), Response> {
    let cx = Ctx::post(s, h, form).await?;
    match id.parse::<i64>() {
        Ok(id) => Ok((cx, id)),
        Err(_) => Err(cx.error_page(StoreError::NotFound, "/orders")),
    }
}

/// `POST /orders/{id}/cancel` from the order page.
pub async fn cancel(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (cx, id) = match order_form(&s, &h, &form, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match s.store.cancel_order(Some(&cx.actor), id, None).await {
        Ok(_) => Redirect::to(&format!("/orders/{id}")).into_response(),
        Err(e) => cx.error_page(e, &format!("/orders/{id}")),
    }
}

/// `POST /orders/{id}/receive` from the order page: the buyer confirms receipt.
pub async fn receive(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (cx, id) = match order_form(&s, &h, &form, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match s.store.confirm_receipt(&cx.actor, id).await {
        Ok(_) => Redirect::to(&format!("/orders/{id}")).into_response(),
        Err(e) => cx.error_page(e, &format!("/orders/{id}")),
    }
}

/// `POST /orders/{id}/pay` from the order page.
pub async fn pay(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (cx, id) = match order_form(&s, &h, &form, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let method = match PaymentMethod::parse("method", &text(&form, "method")) {
        Ok(m) => m,
        Err(e) => return cx.error_page(StoreError::Invalid(vec![e]), &format!("/orders/{id}")),
    };
    match s.store.start_payment(&cx.actor, id, method).await {
        Ok(p) if method == PaymentMethod::Sandbox => {
            Redirect::to(&format!("/pay/sandbox/{}", p.provider_ref)).into_response()
        }
        Ok(_) => Redirect::to(&format!("/orders/{id}")).into_response(),
        Err(e) => cx.error_page(e, &format!("/orders/{id}")),
    }
}

/// The order, when the signed-in actor placed or bought it (`NotFound` otherwise).
async fn own_order(s: &AppState, cx: &Ctx, id: i64) -> Result<Order, StoreError> {
    let o = s.store.order(&cx.actor, id).await?;
    if o.row.placed_by == cx.actor.user_id || o.row.buyer_id == Some(cx.actor.user_id) {
        Ok(o)
    } else {
        Err(StoreError::NotFound)
    }
}

/// `GET /pay/sandbox/{ref}`: the sandbox provider's payment page, labelled as a sandbox.
pub async fn sandbox_page(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Path(r): Path<String>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    // Off on a real deployment: the page does not exist there.
    if !s.store.payment_sandbox().await.unwrap_or(false) {
        return cx.error_page(StoreError::NotFound, "/orders");
    }
    let pay = match s.store.payment_by_ref(&r).await {
        Ok(p) if p.method == "sandbox" => p,
        Ok(_) => return cx.error_page(StoreError::NotFound, "/orders"),
        Err(e) => return cx.error_page(e, "/orders"),
    };
    // Only the order's buyer (or whoever placed it) pays.
    if let Err(e) = own_order(&s, &cx, pay.order_id).await {
        return cx.error_page(e, "/orders");
    }
    let body = format!(
        "<p role=\"note\" style=\"background:#fff3cd;padding:.6em;border:2px dashed #b58900\"><b>{}</b></p>\
<p>{} #{} · <span class=\"p\">{}</span> · {}</p>\
<form method=\"post\" action=\"/pay/sandbox/{r}\" style=\"display:inline\">{csrf}<input type=\"hidden\" name=\"outcome\" value=\"succeeded\"><button id=\"sandbox-pay\">{ok}</button></form> \
<form method=\"post\" action=\"/pay/sandbox/{r}\" style=\"display:inline\">{csrf}<input type=\"hidden\" name=\"outcome\" value=\"failed\"><button>{fail}</button></form>",
        esc(&lang.t("pay-sandbox-banner")),
        esc(&lang.t("order-title-short")),
        pay.order_id,
        Fen(pay.amount_fen),
        esc(&pay.status),
        r = esc(&pay.provider_ref),
        csrf = cx.csrf_input(),
        ok = esc(&lang.t("pay-sandbox-succeed")),
        fail = esc(&lang.t("pay-sandbox-fail")),
    );
    cx.plain_page(StatusCode::OK, &lang.t("pay-sandbox"), &body)
}

/// `POST /pay/sandbox/{ref}`: plays the sandbox provider: signs a notification with the
/// sandbox secret and sends it through the same verification and application as the
/// provider's callback.
pub async fn sandbox_submit(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(r): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::post(&s, &h, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !s.store.payment_sandbox().await.unwrap_or(false) {
        return cx.error_page(StoreError::NotFound, "/orders");
    }
    let pay = match s.store.payment_by_ref(&r).await {
        Ok(p) if p.method == "sandbox" => p,
        Ok(_) => return cx.error_page(StoreError::NotFound, "/orders"),
        Err(e) => return cx.error_page(e, "/orders"),
    };
    if let Err(e) = own_order(&s, &cx, pay.order_id).await {
        return cx.error_page(e, "/orders");
    }
    let outcome = if text(&form, "outcome") == "failed" {
        "failed"
    } else {
        "succeeded"
    };
    let n = Notification {
        id: format!("sbx-{}", &bazaar_store::auth::new_secret()[..16]),
        provider_ref: pay.provider_ref.clone(),
        amount_fen: pay.amount_fen,
        outcome: outcome.into(),
    };
    let result = async {
        let sandbox = s.store.sandbox().await?;
        let body = serde_json::to_vec(&n)
            .map_err(|_| StoreError::Rule(bazaar_domain::ErrorCode::PaymentMismatch))?;
        let sig = sandbox.sign(&body);
        let verified = sandbox.verify(&body, &sig)?;
        s.store
            .apply_notification(sandbox.method(), &verified)
            .await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/orders/{}", pay.order_id)).into_response(),
        Err(e) => cx.error_page(e, &format!("/orders/{}", pay.order_id)),
    }
}

/// At most this many photos with a refund request from the order page.
pub const REFUND_FORM_PHOTOS: usize = 3;

/// `POST /orders/{id}/refund` from the order page (multipart: `reason`, up to three
/// `photos`; the CSRF token travels in the body). The photos are checked before anything is
/// written: a bad one refuses the whole request.
pub async fn request_refund(
    State(s): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    m: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = Lang::negotiate(&h, None);
    let up = match m {
        Ok(m) => read_multipart(m).await,
        Err(_) => Err(FieldError::new("photos", Reason::InvalidFormat)),
    };
    let Upload { fields, files } = match up {
        Ok(u) => u,
        Err(e) => {
            let (status, reason) = if e.reason == Reason::OutOfRange {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            } else {
                (StatusCode::BAD_REQUEST, e.reason.code())
            };
            return crate::pages::message_page(
                lang,
                status,
                &crate::error::field_message(lang, "photos", reason),
            );
        }
    };
    let cx = match Ctx::post(&s, &h, &fields).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return cx.error_page(StoreError::NotFound, "/orders");
    };
    let back = format!("/orders/{id}");
    if files.len() > REFUND_FORM_PHOTOS {
        return cx.error_page(StoreError::field("photos", Reason::OutOfRange), &back);
    }
    // Only the order's own buyer gets images decoded and stored.
    match s.store.order(&cx.actor, id).await {
        Ok(o)
            if o.row.placed_by == cx.actor.user_id || o.row.buyer_id == Some(cx.actor.user_id) => {}
        Ok(_) => return cx.error_page(StoreError::Forbidden, &back),
        Err(e) => return cx.error_page(e, &back),
    }
    let mut keys = Vec::with_capacity(files.len());
    for (_, bytes) in files {
        match crate::api::save_image(&s, &format!("r/o{id}"), bytes).await {
            Ok((key, _, _)) => keys.push(key),
            Err(e) => {
                let msg = e.in_lang(cx.lang).message();
                return cx.plain_page(
                    StatusCode::BAD_REQUEST,
                    &cx.lang.t("refund-request"),
                    &format!(
                        "<p class=\"err\" role=\"alert\">{}</p><p><a href=\"{back}\">←</a></p>",
                        esc(&msg)
                    ),
                );
            }
        }
    }
    let reason = fields.get("reason").cloned().unwrap_or_default();
    let r = match s.store.request_refund(&cx.actor, id, &reason).await {
        Ok(r) => r,
        Err(e) => return cx.error_page(e, &back),
    };
    if !keys.is_empty()
        && let Err(e) = s.store.add_refund_photos(&cx.actor, r.id, &keys).await
    {
        return cx.error_page(e, &back);
    }
    Redirect::to(&back).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cart_round_trip_and_junk() {
        let lines = vec![
            CartLine {
                sku_id: 3,
                quantity: 2,
                price_fen: 6800,
            },
            CartLine {
                sku_id: 9,
                quantity: 1,
                price_fen: 120,
            },
        ];
        assert_eq!(parse_cart(&cart_value(&lines)), lines);
        assert_eq!(
            parse_cart("3:0:100|x|4:1:-5|5:1:100:9|6:2:300|6:1:300"),
            vec![CartLine {
                sku_id: 6,
                quantity: 2,
                price_fen: 300
            }]
        );
    }

    proptest! {
        #[test]
        fn any_cookie_parses_to_a_valid_cart(v in "\\PC{0,200}") {
            let c = parse_cart(&v);
            prop_assert!(c.len() <= MAX_CART_LINES);
            for l in &c {
                prop_assert!(l.sku_id > 0 && l.quantity >= 1 && l.price_fen > 0);
            }
        }
    }
}
