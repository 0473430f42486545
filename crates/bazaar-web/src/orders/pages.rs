//! The buyer's pages: cart (kept in a cookie, so it works before signing in), checkout, my
//! orders with their status timeline, and the sandbox provider's payment page.

use crate::AppState;
use crate::app::backoffice::Ctx;
use crate::app::error::field_message;
use crate::app::forms::{Upload, read_multipart, text};
use crate::app::i18n::Lang;
use crate::app::session::{csrf_cookie, csrf_ok, csrf_token, forbidden_csrf, set_cookie};
use crate::catalog::pages::{Choice, page_lang};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use bazaar_domain::money::Fen;
use bazaar_domain::network::NodeKind;
use bazaar_domain::orders::{BuyerTab, Channel, ItemInput, PaymentMethod};
use bazaar_domain::text::mask_phone;
use bazaar_domain::time::Zone;
use bazaar_domain::{FieldError, Reason};
use bazaar_integrations::payment::{PaymentProvider, Sandbox};
use bazaar_store::StoreError;
use bazaar_store::network::NodeFilter;
use bazaar_store::orders::{Order, PlaceOrder};
use bazaar_store::payments::Notification;
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
    crate::app::session::cookie(h, CART)
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
        crate::catalog::pages::message_page(
            lang,
            StatusCode::BAD_REQUEST,
            &crate::app::error::field_message(lang, field, reason),
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
                Err(e) => return crate::catalog::pages::internal(e),
            };
            // Nothing left: not put in the cart (the product page shows it sold out).
            if a == "add" {
                match s.store.available(&[sku_id]).await {
                    Ok(left) if left.get(&sku_id).copied().unwrap_or(0) <= 0 => {
                        let msg = out_of_stock_text(&s, lang, &[sku_id]).await;
                        return crate::catalog::pages::message_page(
                            lang,
                            StatusCode::CONFLICT,
                            &msg,
                        );
                    }
                    Ok(_) => {}
                    Err(e) => return crate::catalog::pages::internal(e),
                }
            }
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

/// The cart as a table: each line with its price now, the subtotal, and on the cart page the
/// forms that change a quantity or remove a line (`orders/cart_table.html`).
struct CartTable {
    rows: Vec<CartRow>,
    total: Fen,
    /// Whether each line has its forms (the cart page) or only its quantity (checkout).
    editable: bool,
}

/// One line of [`CartTable`].
struct CartRow {
    product_id: i64,
    name: String,
    spec: String,
    sku_id: i64,
    quantity: i64,
    price: Fen,
    line: Fen,
    /// The notice that the price changed since the line was added.
    changed: Option<String>,
}

/// The table of the cart's `rows`, with a notice under each line whose price changed.
fn cart_table(lang: Lang, rows: Vec<Row>, editable: bool) -> CartTable {
    let mut total = 0;
    let rows = rows
        .into_iter()
        .map(|r| {
            let line = r.now_price * r.line.quantity;
            total += line;
            let changed = (r.now_price != r.line.price_fen).then(|| {
                lang.ta(
                    "cart-price-changed",
                    &[
                        ("was", Fen(r.line.price_fen).to_string().into()),
                        ("now", Fen(r.now_price).to_string().into()),
                    ],
                )
            });
            CartRow {
                product_id: r.product_id,
                name: r.name,
                spec: r.spec,
                sku_id: r.line.sku_id,
                quantity: r.line.quantity,
                price: Fen(r.now_price),
                line: Fen(line),
                changed,
            }
        })
        .collect();
    CartTable {
        rows,
        total: Fen(total),
        editable,
    }
}

/// The cart page: its table and the way to checkout, or that it is empty.
#[derive(Template)]
#[template(path = "orders/cart.html")]
struct CartPage<'a> {
    lang: Lang,
    csrf: &'a str,
    title: &'a str,
    /// None when the cart is empty.
    table: Option<CartTable>,
}

/// `GET /cart`.
pub async fn cart(State(s): State<AppState>, h: HeaderMap, uri: Uri) -> Response {
    let lang = page_lang(&h, &uri);
    let (csrf, new) = csrf_token(&h);
    let lines = cart_of(&h);
    let rows = match rows(&s, &lines).await {
        Ok(r) => r,
        Err(e) => return crate::catalog::pages::internal(e),
    };
    let title = lang.t("cart-title");
    let body = CartPage {
        lang,
        csrf: &csrf,
        title: &title,
        table: (!rows.is_empty()).then(|| cart_table(lang, rows, true)),
    };
    let mut res = crate::app::view::page_for(lang, (&h, &uri), StatusCode::OK, &title, "", &body);
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
        Err(e) => return crate::catalog::pages::internal(e),
    };
    if rows.is_empty() {
        return Redirect::to("/cart").into_response();
    }
    let addresses = match s.store.addresses(&cx.actor).await {
        Ok(a) => a,
        Err(e) => return crate::catalog::pages::internal(e),
    };
    let table = cart_table(lang, rows, false);
    // The place-order form, when the buyer has an address to send to: each address with
    // what the order costs sent there, shipping included, before anything is placed.
    let items: Vec<ItemInput> = lines
        .iter()
        .map(|l| ItemInput {
            sku_id: l.sku_id,
            quantity: l.quantity,
            expected_price_fen: None,
        })
        .collect();
    let mut short: Vec<i64> = vec![];
    let order_form = if addresses.is_empty() {
        None
    } else {
        let chosen = values
            .get("address_id")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|id| addresses.iter().any(|a| a.id == *id))
            .unwrap_or(addresses[0].id);
        let mut choices = Vec::with_capacity(addresses.len());
        for a in &addresses {
            // The place by name: the last three levels of its region (county, township,
            // village), as the buyer picked it.
            let place = match s.store.region(&a.region_code).await {
                Ok(r) => {
                    let trail = s.store.region_trail(&r.path).await.unwrap_or_default();
                    let skip = trail.len().saturating_sub(3);
                    let mut words = trail
                        .iter()
                        .skip(skip)
                        .map(|r| region_name(lang, r))
                        .collect::<Vec<_>>();
                    // A municipality is its own prefecture: said once.
                    words.dedup();
                    words.join(" ")
                }
                Err(_) => a.region_code.clone(),
            };
            let quote = s
                .store
                .quote_order(
                    &cx.actor,
                    &storefront_order(items.clone(), Some(a.id), None, s),
                )
                .await;
            let (cost, problem) = match quote {
                Ok(q) => (
                    Some(lang.ta(
                        "checkout-cost",
                        &[
                            ("shipping", Fen(q.shipping_fen).to_string().into()),
                            ("total", Fen(q.total_fen).to_string().into()),
                        ],
                    )),
                    None,
                ),
                Err(StoreError::OutOfStock(skus)) => {
                    for k in skus {
                        if !short.contains(&k) {
                            short.push(k);
                        }
                    }
                    (None, None)
                }
                Err(e) => (None, Some(cx.error_text(e).1)),
            };
            choices.push(AddressChoice {
                id: a.id,
                checked: a.id == chosen,
                text: format!(
                    "{} {} · {} {}",
                    a.recipient,
                    mask_phone(&a.phone),
                    place,
                    a.detail.clone().unwrap_or_default()
                ),
                cost,
                problem,
            });
        }
        let has_node = addresses.iter().any(|a| a.node_code.is_some());
        let sandbox = s.store.payment_sandbox().await.unwrap_or(false);
        // A fresh idempotency key per checkout page: a double click places one order.
        let key = bazaar_store::people::auth::new_secret();
        Some(PlaceForm {
            key: key[..32].to_string(),
            addresses: choices,
            address_error: errors
                .iter()
                .find(|e| e.field == "address_id")
                .map(|e| field_message(lang, &e.field, e.reason.code())),
            method: Field::select(
                lang,
                values,
                errors,
                "method",
                "checkout-method",
                &method_options(lang, has_node, sandbox),
            ),
        })
    };
    // What ran out since it was put in the cart, by name, above everything else.
    let alert = match (alert, short.is_empty()) {
        (Some(a), _) => Some(a),
        (None, false) => Some(out_of_stock_text(s, lang, &short).await),
        (None, true) => None,
    };
    let region = values
        .get("region_code")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let picker = region_picker(s, lang, region.as_deref()).await;
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
    let node = (points.len() > 1).then(|| {
        Field::select(
            lang,
            values,
            errors,
            "node_code",
            "field-node_code",
            &points,
        )
    });
    let summary = errors
        .iter()
        .map(|e| field_message(lang, &e.field, e.reason.code()))
        .collect();
    let body = Checkout {
        lang,
        csrf: &cx.csrf,
        alert,
        table,
        order_form,
        picker,
        region: region.as_deref().unwrap_or(""),
        summary,
        node,
        recipient: Field::input(lang, values, errors, "recipient", "field-recipient"),
        phone: Field::input(lang, values, errors, "phone", "field-phone"),
        detail: Field::input(lang, values, errors, "detail", "field-address"),
    };
    cx.render_plain(status, &lang.t("checkout-title"), &body)
}

/// The checkout page: the cart, the place-order form, and the form that adds an address
/// with its region picker; a refused form is shown again with what was typed and why.
#[derive(Template)]
#[template(path = "orders/checkout.html")]
struct Checkout<'a> {
    lang: Lang,
    csrf: &'a str,
    /// Why the last order was refused (a changed price, a store error).
    alert: Option<String>,
    table: CartTable,
    /// None when the buyer has no address yet.
    order_form: Option<PlaceForm>,
    picker: RegionPicker,
    /// The region the new address is in (the picker's choice).
    region: &'a str,
    /// Every error of the address form, for the alert above it.
    summary: Vec<String>,
    /// The village service points to deliver to, when the region has any.
    node: Option<Field>,
    recipient: Field,
    phone: Field,
    detail: Field,
}

/// The place-order form of the checkout page.
struct PlaceForm {
    /// The idempotency key of this page.
    key: String,
    /// The buyer's addresses, each with what the order costs sent there.
    addresses: Vec<AddressChoice>,
    /// Why the address was refused, when it was.
    address_error: Option<String>,
    method: Field,
}

/// One address to send the order to, with the order's cost there.
struct AddressChoice {
    id: i64,
    checked: bool,
    /// Recipient, masked phone, place.
    text: String,
    /// "运费 ¥10.00 · 合计 ¥45.00", when the order can go there.
    cost: Option<String>,
    /// Why the order cannot go there (not served), when it cannot.
    problem: Option<String>,
}

/// The storefront order of `items` to `address_id` (the default address when `None`).
fn storefront_order(
    items: Vec<ItemInput>,
    address_id: Option<i64>,
    key: Option<String>,
    s: &AppState,
) -> PlaceOrder {
    PlaceOrder {
        items,
        address_id,
        channel: Channel::Storefront,
        idempotency_key: key,
        villager_name: None,
        villager_ref: None,
        pay_window_ms: s.pay_window_ms,
        institution: None,
    }
}

/// "库存不足：…": the product and option of each of `skus` and how many are left of it.
pub(crate) async fn out_of_stock_text(s: &AppState, lang: Lang, skus: &[i64]) -> String {
    let left = s.store.available(skus).await.unwrap_or_default();
    let mut names = Vec::new();
    for id in skus.iter().take(10) {
        let Ok(k) = s.store.sku(*id).await else {
            continue;
        };
        let Ok(p) = s.store.product(k.product_id).await else {
            continue;
        };
        let n = left.get(id).copied().unwrap_or(0).max(0);
        let state = if n == 0 {
            lang.t("stock-sold-out")
        } else {
            lang.ta("stock-left", &[("n", n.into())])
        };
        names.push(format!("{} {}（{state}）", p.row.name, k.spec));
    }
    lang.ta(
        "error-out-of-stock-items",
        &[("items", names.join("、").into())],
    )
}

/// A field of a form as shown (again): its label, what was typed, why it was refused, and for
/// a choice its options.
struct Field {
    name: &'static str,
    label: String,
    value: String,
    /// The first error of this field (its name, or a name ending in `.name`), as shown.
    error: Option<String>,
    /// A choice's options; empty for a text input.
    options: Vec<Choice>,
}

impl Field {
    /// A text input.
    fn input(
        lang: Lang,
        values: &HashMap<String, String>,
        errors: &[FieldError],
        name: &'static str,
        label_key: &str,
    ) -> Field {
        let error = errors
            .iter()
            .find(|e| e.field == name || e.field.ends_with(&format!(".{name}")))
            .map(|e| field_message(lang, &e.field, e.reason.code()));
        Field {
            name,
            label: lang.t(label_key),
            value: values.get(name).cloned().unwrap_or_default(),
            error,
            options: vec![],
        }
    }

    /// A choice of `options` (value, shown text); the typed value is selected.
    fn select(
        lang: Lang,
        values: &HashMap<String, String>,
        errors: &[FieldError],
        name: &'static str,
        label_key: &str,
        options: &[(String, String)],
    ) -> Field {
        let mut f = Field::input(lang, values, errors, name, label_key);
        f.options = options
            .iter()
            .map(|(v, t)| Choice {
                selected: *v == f.value,
                value: v.clone(),
                label: t.clone(),
            })
            .collect();
        f
    }
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
/// GET form to the checkout page); with it (`static/region.js`), each level comes without a
/// reload.
struct RegionPicker {
    /// The steps down to the chosen region: code and name.
    trail: Vec<(String, String)>,
    /// The label of the list of children.
    label: String,
    /// The chosen region's code ("" before any).
    current: String,
    /// The regions one level down: code and name.
    children: Vec<(String, String)>,
    /// The address of the script that submits a choice at once.
    script: String,
}

/// The region picker standing at `chosen` (at the provinces when none).
async fn region_picker(s: &AppState, lang: Lang, chosen: Option<&str>) -> RegionPicker {
    let current = match chosen {
        Some(c) => s.store.region(c).await.ok(),
        None => None,
    };
    let mut trail = vec![];
    if let Some(r) = &current
        && let Ok(steps) = s.store.region_trail(&r.path).await
    {
        trail = steps
            .iter()
            .map(|t| (t.code.clone(), region_name(lang, t)))
            .collect();
    }
    let children = s
        .store
        .region_children(current.as_ref().map(|r| r.code.as_str()))
        .await
        .unwrap_or_default();
    RegionPicker {
        trail,
        label: lang.t(if current.is_some() {
            "address-next-level"
        } else {
            "address-province"
        }),
        current: current.map(|r| r.code).unwrap_or_default(),
        children: children
            .iter()
            .map(|c| (c.code.clone(), region_name(lang, c)))
            .collect(),
        script: crate::app::assets::url("region.js"),
    }
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
    // Paste-to-fill: the form filled from a pasted address, for the buyer to check and save.
    if form.get("step").is_some_and(|v| v == "paste") {
        let pasted = text(&form, "pasted");
        let f = crate::orders::paste::fill(&s.store, &pasted).await;
        let found = !(f.phone.is_empty() && f.region_code.is_empty());
        let values: HashMap<String, String> = [
            ("recipient", f.recipient),
            ("phone", f.phone),
            ("region_code", f.region_code),
            ("detail", f.detail),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let alert = (!found).then(|| cx.lang.t("address-paste-none"));
        let status = if found {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return checkout_page(&s, &cx, &h, &values, &[], alert, status).await;
    }
    let b = crate::orders::api::AddressBody {
        recipient: text(&form, "recipient"),
        phone: text(&form, "phone"),
        region_code: text(&form, "region_code"),
        node_code: Some(text(&form, "node_code")).filter(|n| !n.trim().is_empty()),
        detail: Some(text(&form, "detail")),
        is_default: true,
    };
    let r = match crate::orders::api::check_address(&b) {
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
    let items = lines
        .iter()
        .map(|l| ItemInput {
            sku_id: l.sku_id,
            quantity: l.quantity,
            expected_price_fen: Some(l.price_fen),
        })
        .collect();
    let placed = s
        .store
        .place_order(&cx.actor, &storefront_order(items, address_id, key, &s))
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
        Err(StoreError::OutOfStock(skus)) => {
            let msg = out_of_stock_text(&s, lang, &skus).await;
            return checkout_page(&s, &cx, &h, &form, &[], Some(msg), StatusCode::CONFLICT).await;
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

pub(crate) fn status_label(lang: Lang, status: &str) -> String {
    lang.t(&format!("order-status-{status}"))
}

/// `GET /orders?tab=…&before=…`: my orders as cards, in tabs by state (待付款, 待发货, 待收货,
/// 售后), each with its first line's picture and the latest word on its parcels.
pub async fn my_orders(
    State(s): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cx = match Ctx::get_or_login(&s, &h, &uri).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let lang = cx.lang;
    // An unknown tab or cursor is the first page of all orders, as a link from anywhere.
    let tab = q.get("tab").and_then(|t| BuyerTab::from_name(t));
    let before = q
        .get("before")
        .and_then(|b| b.parse::<i64>().ok())
        .filter(|b| *b > 0)
        .unwrap_or(0);
    let (page, counts) = match tokio::try_join!(
        s.store
            .my_order_cards(&cx.actor, tab, bazaar_store::Cursor(before), Some(20)),
        s.store.my_order_counts(&cx.actor)
    ) {
        Ok(x) => x,
        Err(e) => return crate::catalog::pages::internal(e),
    };
    // The service points named in the latest events, by name rather than code.
    let mut places: HashMap<String, String> = HashMap::new();
    for c in &page.items {
        if let Some(code) = c.latest.as_ref().and_then(|e| e.node_code.as_ref())
            && !places.contains_key(code)
            && let Ok(n) = s.store.node(code).await
        {
            places.insert(code.clone(), n.name);
        }
    }
    let tab_name = tab.map(BuyerTab::as_str).unwrap_or("all");
    let mut tabs = vec![TabLink {
        href: "/orders".into(),
        label: lang.t("orders-tab-all"),
        current: tab.is_none(),
    }];
    for t in BuyerTab::ALL {
        let n = counts.get(t.as_str()).copied().unwrap_or(0);
        let name = lang.t(&format!("orders-tab-{}", t.as_str()));
        tabs.push(TabLink {
            href: format!("/orders?tab={}", t.as_str()),
            label: if n > 0 { format!("{name} {n}") } else { name },
            current: tab == Some(t),
        });
    }
    let orders = page
        .items
        .iter()
        .map(|c| {
            let o = &c.order;
            let name = if c.lines > 1 {
                lang.ta(
                    "orders-and-more",
                    &[
                        ("name", c.first_name.as_str().into()),
                        ("n", c.lines.into()),
                        ("more", (c.lines - 1).into()),
                    ],
                )
            } else {
                c.first_name.clone()
            };
            OrderItem {
                id: o.id,
                at: Zone::Shanghai.format_ms(o.created_at),
                status: status_label(lang, &o.status),
                total: Fen(o.total_fen),
                name,
                photo: c
                    .photo
                    .as_deref()
                    .map(|k| format!("/media/{}", crate::catalog::media::thumb_key(k))),
                drawing: crate::catalog::pages::category_drawing(&c.category),
                latest: c.latest.as_ref().map(|e| Track {
                    at: Zone::Shanghai.format_ms(e.at),
                    what: event_words(lang, e.note.as_deref(), e.state.as_deref())
                        .unwrap_or_default(),
                    place: e
                        .place
                        .clone()
                        .or_else(|| e.node_code.as_ref().and_then(|c| places.get(c).cloned())),
                }),
            }
        })
        .collect();
    let more = page
        .next
        .map(|c| format!("/orders?tab={tab_name}&before={}", c.0));
    cx.render_plain(
        StatusCode::OK,
        &lang.t("orders-title"),
        &MyOrders {
            lang,
            tabs,
            orders,
            more,
        },
    )
}

/// My orders, newest first, in tabs.
#[derive(Template)]
#[template(path = "orders/orders.html")]
struct MyOrders {
    lang: Lang,
    tabs: Vec<TabLink>,
    orders: Vec<OrderItem>,
    /// The next page, when there is one.
    more: Option<String>,
}

/// A tab of a list: where it leads, what it says, whether it is the one shown.
pub(crate) struct TabLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// One order in [`MyOrders`]: when, its status, its total, what it holds and where it is.
struct OrderItem {
    id: i64,
    at: String,
    status: String,
    total: Fen,
    /// "沙瓤土西红柿 等 3 种商品".
    name: String,
    /// The first line's thumbnail, when its product has a photo.
    photo: Option<String>,
    /// Its category's drawing otherwise.
    drawing: String,
    /// The newest tracking line.
    latest: Option<Track>,
}

/// The newest word on an order's parcels: when (Beijing time), what, and where.
struct Track {
    at: String,
    what: String,
    place: Option<String>,
}

/// An order with its lines, the forms its status allows (pay or cancel, confirm receipt, ask
/// for a refund), its status timeline and the tracking of its parcels.
#[derive(Template)]
#[template(path = "orders/order.html")]
struct OrderPage<'a> {
    lang: Lang,
    csrf: &'a str,
    o: &'a Order,
    status: String,
    phone: String,
    /// Where it goes: the address, or the region code when there is none.
    place: &'a str,
    /// While it waits for payment: the pay-by notice and the payment methods (value, label).
    pay: Option<(String, Vec<(String, String)>)>,
    /// Whether the buyer can confirm receipt.
    can_receive: bool,
    /// Whether the buyer can ask for a refund.
    can_refund: bool,
    timeline: Vec<Step>,
    parcels: Vec<ParcelTrack>,
}

/// A step of a timeline: when, what, and a note (a reason, a place).
pub(crate) struct Step {
    pub(crate) at: String,
    pub(crate) what: String,
    pub(crate) note: Option<String>,
}

/// A parcel of an order: its carrier, waybill and state, and its events, newest first.
pub(crate) struct ParcelTrack {
    pub(crate) carrier: String,
    pub(crate) waybill: String,
    pub(crate) state: String,
    pub(crate) events: Vec<Step>,
}

/// The page of order `o` as the signed-in `cx` sees it, with the tracking of its `parcels`.
fn order_page<'a>(
    cx: &'a Ctx,
    o: &'a Order,
    sandbox: bool,
    parcels: &[bazaar_store::logistics::parcels::Tracked],
) -> OrderPage<'a> {
    let lang = cx.lang;
    let r = &o.row;
    let own = r.placed_by == cx.actor.user_id || r.buyer_id == Some(cx.actor.user_id);
    OrderPage {
        lang,
        csrf: &cx.csrf,
        o,
        status: status_label(lang, &r.status),
        phone: mask_phone(&r.phone),
        place: r.address_detail.as_deref().unwrap_or(&r.region_code),
        pay: (r.status == "pending_payment").then(|| {
            (
                lang.ta(
                    "order-pay-by",
                    &[("time", Zone::Shanghai.format_ms(r.pay_by).into())],
                ),
                method_options(lang, r.node_code.is_some(), sandbox),
            )
        }),
        can_receive: own && matches!(r.status.as_str(), "shipped" | "delivered"),
        can_refund: own
            && matches!(
                r.status.as_str(),
                "paid" | "fulfilling" | "shipped" | "delivered" | "completed"
            ),
        timeline: o
            .events
            .iter()
            .map(|e| Step {
                at: Zone::Shanghai.format_ms(e.at),
                what: status_label(lang, &e.to_status),
                note: e.reason.as_deref().map(|r| reason_words(lang, r)),
            })
            .collect(),
        parcels: parcels.iter().map(|t| parcel_track(lang, t)).collect(),
    }
}

/// An order event's reason as a person reads it: the system's own reasons and payment
/// methods in words in `lang`; what a person wrote (a refund's reason) as written.
pub(crate) fn reason_words(lang: Lang, reason: &str) -> String {
    let key = match reason {
        "parcels delivered" => "order-reason-parcels-delivered",
        "receipt confirmed" => "order-reason-receipt-confirmed",
        "confirmation window passed" => "order-reason-window-passed",
        "payment deadline passed" => "order-reason-deadline-passed",
        _ => match PaymentMethod::parse("method", reason) {
            Ok(m) => return lang.t(&format!("pay-{}", m.as_str())),
            Err(_) => return reason.to_string(),
        },
    };
    lang.t(key)
}

/// What a parcel event says to a person: the carrier's words, else the state it moved the
/// parcel to, in `lang`.
fn event_words(lang: Lang, note: Option<&str>, state: Option<&str>) -> Option<String> {
    match (note, state) {
        (Some(n), _) => Some(n.to_string()),
        (None, Some(st)) => Some(lang.t(&format!("parcel-state-{st}"))),
        (None, None) => None,
    }
}

/// A parcel's one timeline of our scans and the carrier's events, newest first, in Beijing
/// time.
pub(crate) fn parcel_track(
    lang: Lang,
    t: &bazaar_store::logistics::parcels::Tracked,
) -> ParcelTrack {
    let carrier = bazaar_domain::logistics::carrier(&t.parcel.carrier)
        .map(|c| if lang == Lang::En { c.name_en } else { c.name })
        .unwrap_or(t.parcel.carrier.as_str());
    ParcelTrack {
        carrier: carrier.to_string(),
        waybill: t.parcel.waybill.clone(),
        state: lang.t(&format!("parcel-state-{}", t.parcel.state)),
        events: t
            .events
            .iter()
            .rev()
            .map(|e| Step {
                at: Zone::Shanghai.format_ms(e.at),
                what: event_words(lang, e.note.as_deref(), e.state.as_deref())
                    .unwrap_or_else(|| e.code.clone()),
                note: e.place.clone().or_else(|| e.node_code.clone()),
            })
            .collect(),
    }
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
            let parcels = s
                .store
                .order_parcels(&cx.actor, id)
                .await
                .unwrap_or_default();
            cx.render_plain(
                StatusCode::OK,
                &title,
                &order_page(&cx, &o, sandbox, &parcels),
            )
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
    cx.render_plain(
        StatusCode::OK,
        &lang.t("pay-sandbox"),
        &SandboxPage {
            lang,
            csrf: &cx.csrf,
            status: lang.t(&format!("payment-status-{}", pay.status)),
            pay: &pay,
        },
    )
}

/// The sandbox provider's payment page: the banner that says so, the order and amount, and
/// the two outcomes to choose from.
#[derive(Template)]
#[template(path = "payments/sandbox.html")]
struct SandboxPage<'a> {
    lang: Lang,
    csrf: &'a str,
    /// The payment's status, in words.
    status: String,
    pay: &'a bazaar_store::payments::Payment,
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
    match sandbox_pay(&s, &pay.provider_ref, pay.amount_fen, outcome).await {
        Ok(_) => Redirect::to(&format!("/orders/{}", pay.order_id)).into_response(),
        Err(e) => cx.error_page(e, &format!("/orders/{}", pay.order_id)),
    }
}

/// Plays the sandbox provider for the payment `provider_ref`: signs its notification with the
/// sandbox secret and sends it through the same verification and application as the
/// provider's callback.
pub(crate) async fn sandbox_pay(
    s: &AppState,
    provider_ref: &str,
    amount_fen: i64,
    outcome: &str,
) -> Result<bazaar_store::payments::Applied, StoreError> {
    let n = Notification {
        id: format!("sbx-{}", &bazaar_store::people::auth::new_secret()[..16]),
        provider_ref: provider_ref.to_string(),
        amount_fen,
        outcome: outcome.into(),
    };
    let sandbox = Sandbox::new(s.store.sandbox_secret().await?);
    let body = serde_json::to_vec(&n)
        .map_err(|_| StoreError::Rule(bazaar_domain::ErrorCode::PaymentMismatch))?;
    let sig = sandbox.sign(&body);
    let verified = sandbox
        .verify(&body, &sig)
        .map_err(|_| StoreError::Forbidden)?;
    s.store
        .apply_notification(sandbox.method(), &verified)
        .await
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
            return crate::catalog::pages::message_page(
                lang,
                status,
                &crate::app::error::field_message(lang, "photos", reason),
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
        match crate::catalog::api::save_image(&s, &format!("r/o{id}"), bytes).await {
            Ok((key, _, _)) => keys.push(key),
            Err(e) => {
                let msg = e.in_lang(cx.lang).message();
                return cx.render_plain(
                    StatusCode::BAD_REQUEST,
                    &cx.lang.t("refund-request"),
                    &PhotoRefused {
                        msg: &msg,
                        back: &back,
                    },
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

/// A refund request whose photo was refused: why, and the way back to the order.
#[derive(Template)]
#[template(path = "orders/refund_refused.html")]
struct PhotoRefused<'a> {
    msg: &'a str,
    back: &'a str,
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
