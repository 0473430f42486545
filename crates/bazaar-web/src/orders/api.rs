//! Orders API: addresses, stock, orders, payments and provider notifications.

use crate::AppState;
use crate::app::api::body;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_domain::error::{optional_text, required_text, take};
use bazaar_domain::orders::{Channel, ItemInput, PaymentMethod};
use bazaar_domain::text::parse_phone;
use bazaar_domain::{FieldError, Reason};
use bazaar_integrations::payment::{PaymentProvider, Refusal, Sandbox};
use bazaar_store::orders::{Address, NewAddress, Order, OrderRow, PlaceOrder};
use bazaar_store::payments::{Applied, Payment};
use bazaar_store::stock::{StockLevel, StockMove, StockSetting};
use bazaar_store::{Cursor, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::of(ErrorCode::NotFound))
}

/// Body of a new address.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddressBody {
    /// Recipient's name.
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub recipient: String,
    /// Recipient's mobile phone: 7 to 12 digits (spaces and dashes are ignored); 11 digits
    /// start with 1 (or 0 for a landline).
    #[serde(default)]
    #[schema(required = true, pattern = "^(?:[0-9]{7,10}|[01][0-9]{10}|[0-9]{12})$")]
    pub phone: String,
    /// Region code: down to the village for rural addresses (a province or city code for
    /// urban ones, with the street in `detail`).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 12,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub region_code: String,
    /// A village service point to deliver to (inside `region_code`).
    #[serde(default)]
    pub node_code: Option<String>,
    /// Street and house number.
    #[serde(default)]
    #[schema(
        max_length = 120,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub detail: Option<String>,
    /// Make it the default address.
    #[serde(default)]
    pub is_default: bool,
}

/// Checks an address body; every bad field is reported.
pub fn check_address(b: &AddressBody) -> Result<NewAddress, Vec<FieldError>> {
    let mut errs = vec![];
    let recipient = take(&mut errs, required_text("recipient", &b.recipient, 40));
    let phone = match parse_phone("phone", &b.phone) {
        Ok(Some(p)) => Some(p),
        Ok(None) => {
            errs.push(FieldError::new("phone", Reason::Required));
            None
        }
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let region_code = take(&mut errs, required_text("region_code", &b.region_code, 12));
    let detail = take(
        &mut errs,
        optional_text("detail", b.detail.as_deref().unwrap_or(""), 120),
    );
    let node_code = b
        .node_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from);
    match (recipient, phone, region_code, detail) {
        (Some(recipient), Some(phone), Some(region_code), Some(detail)) if errs.is_empty() => {
            Ok(NewAddress {
                recipient,
                phone,
                region_code,
                node_code,
                detail,
                is_default: b.is_default,
            })
        }
        _ => Err(errs),
    }
}

#[utoipa::path(post, path = "/api/v1/addresses", tag = "orders", security(("bearer" = [])),
    request_body = AddressBody,
    responses((status = 201, description = "The new address", body = Address),
        (status = 400, description = "Bad input: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 422, description = "The region or service point does not exist (`unknown_reference`) or do not match (`inconsistent`)", body = ErrorBody)))]
/// `POST /api/v1/addresses`.
pub async fn add_address(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<AddressBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let a = check_address(&b).map_err(StoreError::Invalid)?;
    let addr = s.store.add_address(&actor, &a).await?;
    Ok((StatusCode::CREATED, Json(addr)).into_response())
}

#[utoipa::path(get, path = "/api/v1/addresses", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "The caller's addresses, default first", body = Vec<Address>),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
/// `GET /api/v1/addresses`.
pub async fn addresses(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Address>>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.addresses(actor).await?))
}

/// Body of `PUT /api/v1/skus/{id}/stock`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StockBody {
    /// Units available for sale at the location.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub quantity: i64,
    /// Node code of a village point or county warehouse holding the stock; the seller's home
    /// when omitted.
    #[serde(default)]
    pub location: Option<String>,
    /// Units announced but not yet arrived at the location; unchanged when omitted.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub incoming: Option<i64>,
}

/// Body of `POST /api/v1/skus/{id}/stock/transfers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TransferBody {
    /// Node code the stock leaves; the seller's home when omitted.
    #[serde(default)]
    pub from: Option<String>,
    /// Node code the stock goes to; the seller's home when omitted.
    #[serde(default)]
    pub to: Option<String>,
    /// Units sent (at most what is available at `from`).
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub quantity: i64,
}

/// Body of `POST /api/v1/skus/{id}/stock/arrivals`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ArrivalBody {
    /// Node code where the units arrived; the seller's home when omitted.
    #[serde(default)]
    pub location: Option<String>,
    /// Units arrived (at most what was announced as incoming there).
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub quantity: i64,
}

/// The stock of a SKU and its ledger.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockView {
    /// Quantities per location.
    pub levels: Vec<StockLevel>,
    /// The newest ledger entries.
    pub moves: Vec<StockMove>,
}

#[utoipa::path(put, path = "/api/v1/skus/{id}/stock", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "SKU id")), request_body = StockBody,
    responses((status = 200, description = "The stock at the default location", body = StockLevel),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the product's seller, agent or operator", body = ErrorBody),
        (status = 404, description = "No such SKU", body = ErrorBody)))]
/// `PUT /api/v1/skus/{id}/stock` with `{"quantity": N}`.
pub async fn set_stock(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<StockBody>, JsonRejection>,
) -> Result<Json<StockLevel>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let b = body(&caller, b)?;
    let set = StockSetting {
        available: b.quantity,
        node: b.location.filter(|l| !l.trim().is_empty()),
        incoming: b.incoming,
    };
    let level = s.store.set_stock(&actor, id, &set).await?;
    s.stock_changed();
    Ok(Json(level))
}

#[utoipa::path(post, path = "/api/v1/skus/{id}/stock/transfers", tag = "orders",
    security(("bearer" = [])), params(("id" = i64, Path, description = "SKU id")),
    request_body = TransferBody,
    responses((status = 200, description = "The source and destination rows after the move", body = [StockLevel]),
        (status = 400, description = "Bad input (unknown node, same place, quantity)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No stock rights at the source", body = ErrorBody),
        (status = 404, description = "No such SKU", body = ErrorBody),
        (status = 409, description = "Not that much available at the source (out_of_stock)", body = ErrorBody),
        (status = 422, description = "A location that does not exist (`unknown_reference`) or the same one twice (`inconsistent`)", body = ErrorBody)))]
/// `POST /api/v1/skus/{id}/stock/transfers`: sends stock from one location to another (a
/// seller's home to a county warehouse, say); it counts as incoming there until it arrives.
pub async fn transfer_stock(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<TransferBody>, JsonRejection>,
) -> Result<Json<Vec<StockLevel>>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let b = body(&caller, b)?;
    let from = b.from.filter(|l| !l.trim().is_empty());
    let to = b.to.filter(|l| !l.trim().is_empty());
    let level = s
        .store
        .transfer_stock(&actor, id, from.as_deref(), to.as_deref(), b.quantity)
        .await?;
    s.stock_changed();
    Ok(Json(level))
}

#[utoipa::path(post, path = "/api/v1/skus/{id}/stock/arrivals", tag = "orders",
    security(("bearer" = [])), params(("id" = i64, Path, description = "SKU id")),
    request_body = ArrivalBody,
    responses((status = 200, description = "The row after the arrival", body = StockLevel),
        (status = 400, description = "A quantity outside 1–10,000,000 or a malformed body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No stock rights there", body = ErrorBody),
        (status = 404, description = "No such SKU", body = ErrorBody),
        (status = 409, description = "More than was announced as incoming there (`more_than_announced`)", body = ErrorBody),
        (status = 422, description = "A location that does not exist (`unknown_reference`)", body = ErrorBody)))]
/// `POST /api/v1/skus/{id}/stock/arrivals`: books incoming units as arrived (on hand).
pub async fn receive_stock(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<ArrivalBody>, JsonRejection>,
) -> Result<Json<StockLevel>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let b = body(&caller, b)?;
    let at = b.location.filter(|l| !l.trim().is_empty());
    let level = s
        .store
        .receive_stock(&actor, id, at.as_deref(), b.quantity)
        .await?;
    s.stock_changed();
    Ok(Json(level))
}

#[utoipa::path(get, path = "/api/v1/skus/{id}/stock", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "SKU id")),
    responses((status = 200, description = "Quantities per location and the ledger", body = StockView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the product's seller, agent or operator", body = ErrorBody),
        (status = 404, description = "No such SKU", body = ErrorBody)))]
/// `GET /api/v1/skus/{id}/stock`.
pub async fn stock(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StockView>, ApiError> {
    let actor = caller.require()?;
    let id = id_of(&id)?;
    Ok(Json(StockView {
        levels: s.store.stock_levels(actor, id).await?,
        moves: s.store.stock_moves(actor, id).await?,
    }))
}

/// Body of `POST /api/v1/orders`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct OrderBody {
    /// What to buy (1 to 100 lines).
    #[serde(default)]
    #[schema(required = true, min_items = 1, max_items = 100)]
    pub items: Vec<ItemInput>,
    /// Delivery address; the caller's default when omitted.
    #[serde(default)]
    pub address_id: Option<i64>,
    /// storefront (default), pavilion, live, station (agents ordering for a villager, 代买),
    /// institution.
    #[serde(default)]
    #[schema(pattern = "^(|storefront|pavilion|live|station|institution)$")]
    pub channel: Option<String>,
    /// Villager's name (station orders: needed there).
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub villager_name: Option<String>,
    /// Villager's ID-card tail or phone (station orders).
    #[serde(default)]
    #[schema(
        max_length = 20,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub villager_ref: Option<String>,
    /// Institutional orders (needed there): wanted delivery date, `YYYY-MM-DD`, today or
    /// later (`out_of_window`, 422).
    #[serde(default)]
    #[schema(pattern = "^\\s*([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?\\s*$")]
    pub delivery_date: Option<String>,
    /// Institutional orders (needed there): invoice title.
    #[serde(default)]
    #[schema(
        max_length = 60,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub invoice_title: Option<String>,
    /// Institutional orders (needed there): taxpayer id (统一社会信用代码, 18 letters or digits).
    #[serde(default)]
    #[schema(pattern = "^\\s*([0-9A-Za-z]{18})?\\s*$")]
    pub invoice_tax_id: Option<String>,
}

/// Checks the institutional part of an order body.
pub(crate) fn institution_details(
    b: &OrderBody,
    errs: &mut Vec<FieldError>,
) -> Option<bazaar_store::orders::InstitutionDetails> {
    let date = b.delivery_date.as_deref().unwrap_or("").trim().to_string();
    let today = bazaar_domain::time::Zone::Shanghai
        .format_ms(bazaar_domain::time::now_ms())
        .chars()
        .take(10)
        .collect::<String>();
    let valid_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (1..=12).contains(&date[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u32>().unwrap_or(0));
    if date.is_empty() {
        errs.push(FieldError::new("delivery_date", Reason::Needed));
    } else if !valid_date {
        errs.push(FieldError::new("delivery_date", Reason::InvalidFormat));
    } else if date < today {
        errs.push(FieldError::new("delivery_date", Reason::OutOfWindow));
    }
    let title = match b.invoice_title.as_deref().map(str::trim) {
        None | Some("") => {
            errs.push(FieldError::new("invoice_title", Reason::Needed));
            None
        }
        Some(t) => take(errs, required_text("invoice_title", t, 60)),
    };
    let tax = b
        .invoice_tax_id
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    if tax.is_empty() {
        errs.push(FieldError::new("invoice_tax_id", Reason::Needed));
    } else if tax.len() != 18 || !tax.bytes().all(|c| c.is_ascii_alphanumeric()) {
        errs.push(FieldError::new("invoice_tax_id", Reason::InvalidFormat));
    }
    match title {
        Some(invoice_title) if valid_date => Some(bazaar_store::orders::InstitutionDetails {
            delivery_date: date,
            invoice_title,
            invoice_tax_id: tax,
        }),
        _ => None,
    }
}

/// The `Idempotency-Key` header: absent, or 1 to 100 visible ASCII characters.
pub(crate) fn idempotency_key(h: &HeaderMap) -> Result<Option<String>, ApiError> {
    match h.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let k = v.to_str().unwrap_or("").trim();
            if k.is_empty() || k.len() > 100 || !k.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ApiError::field("Idempotency-Key", "invalid_format"));
            }
            Ok(Some(k.to_string()))
        }
    }
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[ \\t]*[!-~]{1,100}[ \\t]*$", description = "1 to 100 visible ASCII characters. The same key returns the same order and reserves nothing more")),
    request_body = OrderBody,
    responses((status = 201, description = "The order, waiting for payment; stock is reserved", body = Order),
        (status = 400, description = "Bad items or address: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "A channel not the caller's: `station` is for station agents, `institution` for institutions", body = ErrorBody),
        (status = 409, description = "`out_of_stock` (details list the SKUs), `price_changed` (details list old and new prices), `product_not_listed`, `address_not_served`, `no_default_address`; nothing was reserved", body = ErrorBody),
        (status = 422, description = "An address or SKU that does not exist (`unknown_reference`), details that do not fit the channel (`inconsistent`) or that it needs (`needed`: a station order's villager, an institution's date and invoice), lines of one SKU adding up to more than 9,999 (`over_total`), a delivery date already past (`out_of_window`)", body = ErrorBody)))]
/// `POST /api/v1/orders`.
pub async fn place_order(
    State(s): State<AppState>,
    caller: Caller,
    h: HeaderMap,
    b: Result<Json<OrderBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let key = idempotency_key(&h)?;
    let channel = match b.channel.as_deref() {
        None | Some("") => Channel::Storefront,
        Some(c) => Channel::parse("channel", c).map_err(|e| StoreError::Invalid(vec![e]))?,
    };
    if channel == Channel::Import {
        return Err(ApiError::field("channel", "unknown_choice"));
    }
    // Who may use a channel is decided before its details are checked.
    use bazaar_domain::people::Role;
    if (channel == Channel::Station && actor.role != Role::Agent)
        || (channel == Channel::Institution && actor.role != Role::Institution)
    {
        return Err(ApiError::of(ErrorCode::Forbidden));
    }
    let mut errs = vec![];
    let villager_name = take(
        &mut errs,
        optional_text(
            "villager_name",
            b.villager_name.as_deref().unwrap_or(""),
            40,
        ),
    )
    .flatten();
    let villager_ref = take(
        &mut errs,
        optional_text("villager_ref", b.villager_ref.as_deref().unwrap_or(""), 20),
    )
    .flatten();
    if channel == Channel::Station && villager_name.is_none() {
        errs.push(FieldError::new("villager_name", Reason::Needed));
    }
    let institution = if channel == Channel::Institution {
        institution_details(&b, &mut errs)
    } else {
        None
    };
    if !errs.is_empty() {
        return Err(StoreError::Invalid(errs).into());
    }
    let placed = s
        .store
        .place_order(
            &actor,
            &PlaceOrder {
                items: b.items,
                address_id: b.address_id,
                channel,
                idempotency_key: key,
                villager_name,
                villager_ref,
                pay_window_ms: s.pay_window_ms,
                institution,
            },
        )
        .await?;
    Ok(placed_response(placed))
}

/// The answer to a placed order: 201 with the order, marked `Idempotent-Replayed: true`
/// when its key had placed it before.
pub(crate) fn placed_response(placed: bazaar_store::orders::Placed) -> Response {
    let mut res = (StatusCode::CREATED, Json(placed.order)).into_response();
    if placed.replayed {
        res.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    res
}

/// A page of orders.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    /// Orders, newest first.
    pub items: Vec<OrderRow>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(("cursor" = Option<String>, Query, pattern = "^(c[0-9a-z]{1,12})?$", description = "Cursor of the page"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100")),
    responses((status = 200, description = "The caller's orders, newest first", body = OrderPage),
        (status = 400, description = "Bad cursor or limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
/// `GET /api/v1/orders`: the orders the caller placed or bought.
pub async fn my_orders(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<OrderPage>, ApiError> {
    let actor = caller.require()?;
    let cursor = Cursor::parse(
        "cursor",
        q.get("cursor")
            .map(String::as_str)
            .filter(|c| !c.is_empty()),
    )
    .map_err(|e| StoreError::Invalid(vec![e]))?;
    let limit = crate::app::api::limit_param(&q, 100)?;
    let page = s.store.my_orders(actor, cursor, limit).await?;
    Ok(Json(OrderPage {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order with its lines and history", body = Order),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such order, or not the caller's", body = ErrorBody)))]
/// `GET /api/v1/orders/{id}`.
pub async fn order(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.order(actor, id_of(&id)?).await?))
}

/// Body of a cancellation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CancelBody {
    /// Why (optional).
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: Option<String>,
}

/// The optional reason of a cancel or deliver body: blank is none, at most 200 characters.
/// No body at all (no content type) is no reason; a body that is not a `CancelBody` is the
/// JSON error naming what is wrong.
fn reason_of(
    caller: &Caller,
    b: Result<Option<Json<CancelBody>>, JsonRejection>,
) -> Result<Option<String>, ApiError> {
    let b = b.map_err(|e| ApiError::from_json_rejection(&e).in_lang(caller.lang))?;
    match b
        .and_then(|Json(b)| b.reason)
        .filter(|r| !r.trim().is_empty())
    {
        Some(r) => Ok(optional_text("reason", &r, 200).map_err(|e| StoreError::Invalid(vec![e]))?),
        None => Ok(None),
    }
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")), request_body = CancelBody,
    responses((status = 200, description = "The cancelled order; its stock is released", body = Order),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the order's placer", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "`invalid_transition`: only unpaid orders can be cancelled", body = ErrorBody)))]
/// `POST /api/v1/orders/{id}/cancel`.
pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Option<Json<CancelBody>>, JsonRejection>,
) -> Result<Json<Order>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let reason = reason_of(&caller, b)?;
    Ok(Json(
        s.store
            .cancel_order(Some(&actor), id, reason.as_deref())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/deliver", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")), request_body = CancelBody,
    responses((status = 200, description = "The order, now delivered", body = Order),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the agent of its service point, an operator in scope or an admin", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "`invalid_transition`: only shipped orders can be delivered", body = ErrorBody)))]
/// `POST /api/v1/orders/{id}/deliver`: the parcel reached the buyer or the village point.
pub async fn deliver(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Option<Json<CancelBody>>, JsonRejection>,
) -> Result<Json<Order>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let reason = reason_of(&caller, b)?;
    Ok(Json(
        s.store
            .mark_delivered(&actor, id, reason.as_deref())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/receive", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order, now completed", body = Order),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the order's buyer", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "`invalid_transition`: only shipped or delivered orders", body = ErrorBody)))]
/// `POST /api/v1/orders/{id}/receive`: the buyer confirms receipt (确认收货); delivered
/// orders also complete by themselves 7 days after delivery.
pub async fn receive(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    Ok(Json(s.store.confirm_receipt(&actor, id).await?))
}

/// Body of `POST /api/v1/orders/{id}/payments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PaymentBody {
    /// sandbox (demo), station_cash (到站付款) or bank_transfer.
    #[serde(default)]
    #[schema(
        required = true,
        pattern = "^\\s*(sandbox|station_cash|bank_transfer)\\s*$"
    )]
    pub method: String,
}

/// A started payment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentStarted {
    /// The payment, pending.
    pub payment: Payment,
    /// Where the buyer pays (the sandbox's page); none for cash and transfers, which the agent
    /// or an operator confirms.
    pub checkout_url: Option<String>,
    /// True for the sandbox provider: no money moves.
    pub sandbox: bool,
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/payments", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")), request_body = PaymentBody,
    responses((status = 201, description = "The pending payment", body = PaymentStarted),
        (status = 400, description = "Unknown method, or cash for an order not addressed to a station", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "An order the caller may see but did not place or buy (an operator's, an admin's)", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "The order is not waiting for payment", body = ErrorBody),
        (status = 422, description = "A method that does not fit this order (field `method`, `inconsistent`: cash at a station for an order not placed there)", body = ErrorBody)))]
/// `POST /api/v1/orders/{id}/payments`.
pub async fn start_payment(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<PaymentBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let b = body(&caller, b)?;
    let method =
        PaymentMethod::parse("method", &b.method).map_err(|e| StoreError::Invalid(vec![e]))?;
    let payment = s.store.start_payment(&actor, id, method).await?;
    let sandbox = method == PaymentMethod::Sandbox;
    let checkout_url = sandbox.then(|| format!("/pay/sandbox/{}", payment.provider_ref));
    Ok((
        StatusCode::CREATED,
        Json(PaymentStarted {
            payment,
            checkout_url,
            sandbox,
        }),
    )
        .into_response())
}

/// The result of a notification or confirmation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppliedBody {
    /// paid, repeated (nothing changed), failed or refund_due.
    pub result: Applied,
}

#[utoipa::path(post, path = "/api/v1/payments/sandbox/notifications", tag = "orders",
    params(("X-Sandbox-Signature" = String, Header, description = "Hex HMAC-SHA256 of the body with the sandbox secret")),
    request_body(content = String, content_type = "application/json", description = "`{\"id\", \"provider_ref\", \"amount_fen\", \"outcome\": \"succeeded|failed\"}`"),
    responses((status = 200, description = "Applied once; a repeat answers `repeated` and changes nothing", body = AppliedBody),
        (status = 400, description = "Malformed notification", body = ErrorBody),
        (status = 403, description = "Bad signature", body = ErrorBody),
        (status = 404, description = "Unknown payment", body = ErrorBody),
        (status = 409, description = "`payment_mismatch`: the amount differs from the payment", body = ErrorBody)))]
/// `POST /api/v1/payments/sandbox/notifications`: the sandbox provider's callback.
pub async fn sandbox_notification(
    State(s): State<AppState>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<AppliedBody>, ApiError> {
    let sig = h
        .get("x-sandbox-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sandbox = Sandbox::new(s.store.sandbox_secret().await?);
    let n = sandbox.verify(&body, sig).map_err(|r| match r {
        Refusal::BadSignature => ApiError::from(StoreError::Forbidden),
        Refusal::Malformed => ApiError::from(StoreError::field("body", Reason::InvalidFormat)),
    })?;
    let result = s.store.apply_notification(sandbox.method(), &n).await?;
    Ok(Json(AppliedBody { result }))
}

#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Payment id")),
    responses((status = 200, description = "Confirmed (or already confirmed: `repeated`)", body = AppliedBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Station cash: the agent of the order's service point or an operator; bank transfer: an operator", body = ErrorBody),
        (status = 404, description = "No such payment", body = ErrorBody)))]
/// `POST /api/v1/payments/{id}/confirm`: cash taken at the station, or a transfer received.
pub async fn confirm_payment(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AppliedBody>, ApiError> {
    let actor = caller.require()?.clone();
    let result = s.store.confirm_payment(&actor, id_of(&id)?).await?;
    Ok(Json(AppliedBody { result }))
}

#[utoipa::path(get, path = "/api/v1/seller/parts", tag = "orders", security(("bearer" = [])),
    params(("status" = Option<String>, Query, pattern = "^(|pending_payment|paid|fulfilling|shipped|delivered|completed|cancelled|refund_requested|refunded)$", description = "Only orders of this status (e.g. paid)"),
        ("before" = Option<i64>, Query, description = "Only orders older than this order id (the next page: the last order id of this one)"),
        ("q" = Option<String>, Query, max_length = 40, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", description = "Digits: the order number, the whole phone or its last 4+ digits; words: part of the recipient's name"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "At most this many (default 200)")),
    responses((status = 200, description = "What the seller has to send, newest first, with the lines of each part", body = Vec<bazaar_store::orders::SellerPart>),
        (status = 400, description = "Unknown status; `before` or `limit` not a number, or `limit` outside 1–200; `q` longer than 40 characters", body = ErrorBody),
        (status = 403, description = "Sellers only", body = ErrorBody)))]
/// `GET /api/v1/seller/parts`: the seller's parts of orders.
pub async fn seller_parts(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<bazaar_store::orders::SellerPart>>, ApiError> {
    let actor = caller.require()?;
    let status = match q.get("status").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            bazaar_domain::orders::OrderStatus::parse("status", v)
                .map_err(|e| StoreError::Invalid(vec![e]))?,
        ),
    };
    let number = |name: &'static str| -> Result<Option<i64>, ApiError> {
        match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| StoreError::field(name, bazaar_domain::Reason::InvalidFormat).into()),
        }
    };
    let before = number("before")?;
    let limit = number("limit")?.unwrap_or(200);
    if !(1..=200).contains(&limit) {
        return Err(StoreError::field("limit", bazaar_domain::Reason::OutOfRange).into());
    }
    let needle = bazaar_store::db::find::Needle::parse("q", q.get("q").map(String::as_str))
        .map_err(|e| StoreError::Invalid(vec![e]))?;
    Ok(Json(
        s.store
            .seller_parts(actor, status, before, needle.as_ref(), limit)
            .await?,
    ))
}

/// Body of a bulk shipment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ShipBody {
    /// The parts handed to the carrier (1 to 200).
    #[serde(default)]
    pub part_ids: Vec<i64>,
    /// Their waybills (`part_id`, `carrier`, `waybill`): each becomes a tracked parcel.
    #[serde(default)]
    pub waybills: Vec<bazaar_store::orders::PartWaybill>,
}

/// What shipped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Shipped {
    /// Parts marked shipped (others were not the seller's, not paid, or already shipped).
    pub shipped: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/seller/shipments", tag = "orders", security(("bearer" = [])),
    request_body = ShipBody,
    responses((status = 200, description = "The parts that shipped; an order whose parts all shipped becomes `shipped`", body = Shipped),
        (status = 400, description = "No parts, or more than 200", body = ErrorBody),
        (status = 403, description = "Sellers only", body = ErrorBody),
        (status = 422, description = "A waybill not written as its carrier writes them (`waybills[i].waybill`, `not_this_carrier`), an unknown carrier or part", body = ErrorBody)))]
/// `POST /api/v1/seller/shipments`: bulk "mark shipped".
pub async fn ship(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<ShipBody>, JsonRejection>,
) -> Result<Json<Shipped>, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    Ok(Json(Shipped {
        shipped: s.store.ship_parts(&actor, &b.part_ids, &b.waybills).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/station/orders", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Orders placed at or addressed to the agent's service point", body = Vec<bazaar_store::orders::StationOrder>),
        (status = 403, description = "Station agents only", body = ErrorBody)))]
/// `GET /api/v1/station/orders`.
pub async fn station_orders(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<bazaar_store::orders::StationOrder>>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.station_orders(actor).await?))
}

#[utoipa::path(get, path = "/api/v1/payments/pending", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Cash and transfers waiting for the caller's confirmation", body = Vec<bazaar_store::orders::PendingPayment>),
        (status = 403, description = "Agents, operators and admins only", body = ErrorBody)))]
/// `GET /api/v1/payments/pending`.
pub async fn pending_payments(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<bazaar_store::orders::PendingPayment>>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.pending_confirmations(actor).await?))
}

fn year_param(q: &HashMap<String, String>) -> Result<i32, ApiError> {
    match q.get("year").map(|y| y.trim()).filter(|y| !y.is_empty()) {
        None => Ok(bazaar_domain::time::Zone::Shanghai
            .format_ms(bazaar_domain::time::now_ms())
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(2026)),
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(|| ApiError::field("year", "out_of_range")),
    }
}

#[utoipa::path(get, path = "/api/v1/reports/sales", tag = "orders", security(("bearer" = [])),
    params(("year" = Option<String>, Query, pattern = "^(|20[0-9][0-9]|2100)$", description = "The year, 2000 to 2100; empty or absent is this year")),
    responses((status = 200, description = "Sales per producer and month: a seller's own, an agent's villagers, an operator's region", body = Vec<bazaar_store::stats::reports::MonthSales>),
        (status = 400, description = "Bad year", body = ErrorBody),
        (status = 403, description = "Buyers have no sales", body = ErrorBody)))]
/// `GET /api/v1/reports/sales?year=`.
pub async fn sales_report(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<bazaar_store::stats::reports::MonthSales>>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.monthly_sales(actor, year_param(&q)?).await?))
}

#[utoipa::path(get, path = "/api/v1/reports/poverty-sales", tag = "orders", security(("bearer" = [])),
    params(("year" = Option<String>, Query, pattern = "^(|20[0-9][0-9]|2100)$", description = "The year, 2000 to 2100; empty or absent is this year")),
    responses((status = 200, description = "Per county: sales, and the part that reached poverty-alleviation households", body = Vec<bazaar_store::stats::reports::CountySales>),
        (status = 400, description = "Bad year", body = ErrorBody),
        (status = 403, description = "Operators and admins only", body = ErrorBody)))]
/// `GET /api/v1/reports/poverty-sales?year=`.
pub async fn poverty_report(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<bazaar_store::stats::reports::CountySales>>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.poverty_sales(actor, year_param(&q)?).await?))
}

#[utoipa::path(get, path = "/api/v1/reports/institution", tag = "orders", security(("bearer" = [])),
    params(("year" = Option<String>, Query, pattern = "^(|20[0-9][0-9]|2100)$", description = "The year, 2000 to 2100; empty or absent is this year")),
    responses((status = 200, description = "The institution's purchases and its poverty-alleviation purchases", body = bazaar_store::stats::reports::InstitutionPurchases),
        (status = 400, description = "Bad year", body = ErrorBody),
        (status = 403, description = "Institutional buyers only", body = ErrorBody)))]
/// `GET /api/v1/reports/institution?year=`.
pub async fn institution_report(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<bazaar_store::stats::reports::InstitutionPurchases>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(
        s.store
            .institution_purchases(actor, year_param(&q)?)
            .await?,
    ))
}

/// Body of a refund request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefundBody {
    /// Why (required).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")), request_body = RefundBody,
    responses((status = 201, description = "The refund request; the order is `refund_requested`", body = bazaar_store::aftersales::refunds::Refund),
        (status = 400, description = "No reason", body = ErrorBody),
        (status = 403, description = "An order the caller may see but did not buy", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "Not paid, already refunded, or `refund_window_closed` (15 days after payment)", body = ErrorBody)))]
/// `POST /api/v1/orders/{id}/refund`.
pub async fn request_refund(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<RefundBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let b = body(&caller, b)?;
    let r = s.store.request_refund(&actor, id, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[utoipa::path(post, path = "/api/v1/refunds/{id}/photos", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Refund id")),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A photo of the goods: JPEG, PNG or WebP, at most 10 MB; checked by content, scaled to at most 1200 px, stored as JPEG without EXIF."),
    responses((status = 201, description = "The refund request with its photos", body = bazaar_store::aftersales::refunds::Refund),
        (status = 400, description = "Already 6 photos (field `photo`, `out_of_range`)", body = ErrorBody),
        (status = 422, description = "Empty, or not a JPEG, PNG or WebP image that decodes (field `photo`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such refund request of the caller's", body = ErrorBody),
        (status = 409, description = "`refund_decided`: already decided", body = ErrorBody),
        (status = 413, description = "Over 10 MB", body = ErrorBody)))]
/// `POST /api/v1/refunds/{id}/photos` with the image as the body: a photo for the buyer's
/// refund request (up to 6, while it waits for a decision).
pub async fn refund_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let body = crate::catalog::api::image_body(&caller, body)?;
    let r = add_refund_photo(&s, &actor, id, body.to_vec())
        .await
        .map_err(|e| e.in_lang(caller.lang))?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// Checks the caller may, then stores the image and attaches it to the refund request.
pub(crate) async fn add_refund_photo(
    s: &AppState,
    actor: &bazaar_domain::people::Actor,
    refund_id: i64,
    bytes: Vec<u8>,
) -> Result<bazaar_store::aftersales::refunds::Refund, ApiError> {
    // Rights first: nothing is decoded for a caller who may not add photos here.
    s.store.may_add_refund_photo(actor, refund_id).await?;
    let (key, _, _) = crate::catalog::api::save_image(s, &format!("r/{refund_id}"), bytes).await?;
    Ok(s.store.add_refund_photos(actor, refund_id, &[key]).await?)
}

#[utoipa::path(get, path = "/api/v1/refunds", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "Refund requests the caller decides: a seller's, an operator's (with rejections it may overturn)", body = Vec<bazaar_store::aftersales::refunds::Refund>),
        (status = 403, description = "Sellers, operators and admins only", body = ErrorBody)))]
/// `GET /api/v1/refunds`.
pub async fn refunds(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<bazaar_store::aftersales::refunds::Refund>>, ApiError> {
    let actor = caller.require()?;
    Ok(Json(s.store.refunds_to_decide(actor).await?))
}

/// Body of a refund decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefundDecisionBody {
    /// approve or reject.
    #[serde(default)]
    #[schema(required = true, pattern = "^(approve|reject)$")]
    pub decision: String,
    /// Why (required to reject).
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/refunds/{id}/decision", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Refund id")), request_body = RefundDecisionBody,
    responses((status = 200, description = "Decided: approved refunds pay back by the original method and restock the goods", body = bazaar_store::aftersales::refunds::Refund),
        (status = 400, description = "Unknown decision, or a rejection without reason", body = ErrorBody),
        (status = 403, description = "Not the order's seller or an operator of its region", body = ErrorBody),
        (status = 404, description = "No such refund", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody)))]
/// `POST /api/v1/refunds/{id}/decision`.
pub async fn decide_refund(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<RefundDecisionBody>, JsonRejection>,
) -> Result<Json<bazaar_store::aftersales::refunds::Refund>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id_of(&id)?;
    let b = body(&caller, b)?;
    let approve = match b.decision.trim() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::field("decision", "unknown_choice")),
    };
    Ok(Json(
        s.store
            .decide_refund(&actor, id, approve, b.reason.as_deref())
            .await?,
    ))
}

/// Body of `PUT /api/v1/shipping-rules/{county}/{province}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ShippingRuleBody {
    /// Weight covered by the first fee, grams (> 0).
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub first_weight_g: i64,
    /// Fee for the first weight, fen (≥ 0).
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub first_fee_fen: i64,
    /// Each further unit, grams (> 0).
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub extra_unit_g: i64,
    /// Fee per further unit, fen (≥ 0).
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub extra_fee_fen: i64,
    /// Cold-chain surcharge per parcel, fen (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub cold_chain_fee_fen: i64,
}

#[utoipa::path(put, path = "/api/v1/shipping-rules/{county}/{province}", tag = "orders", security(("bearer" = [])),
    params(("county" = String, Path, description = "Origin county code"), ("province" = String, Path, pattern = "^\\s*(\\*|[0-9]{2}0000)\\s*$", description = "Destination province code, or * for any")),
    request_body = ShippingRuleBody,
    responses((status = 204, description = "The rule is set"),
        (status = 400, description = "Bad amounts or province code", body = ErrorBody),
        (status = 403, description = "Only the county's operators and admins", body = ErrorBody),
        (status = 422, description = "`county` is not a county (`unknown_reference`)", body = ErrorBody)))]
/// `PUT /api/v1/shipping-rules/{county}/{province}`: a county operator sets what parcels from
/// its county cost.
pub async fn set_shipping_rule(
    State(s): State<AppState>,
    caller: Caller,
    Path((county, province)): Path<(String, String)>,
    b: Result<Json<ShippingRuleBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let mut errs = vec![];
    for (field, v, min) in [
        ("first_weight_g", b.first_weight_g, 1),
        ("first_fee_fen", b.first_fee_fen, 0),
        ("extra_unit_g", b.extra_unit_g, 1),
        ("extra_fee_fen", b.extra_fee_fen, 0),
        ("cold_chain_fee_fen", b.cold_chain_fee_fen, 0),
    ] {
        if !(min..=100_000_000).contains(&v) {
            errs.push(FieldError::new(field, Reason::OutOfRange));
        }
    }
    let province = province.trim().to_string();
    if province != "*"
        && !(province.len() == 6
            && province.ends_with("0000")
            && province.bytes().all(|c| c.is_ascii_digit()))
    {
        errs.push(FieldError::new("province", Reason::InvalidFormat));
    }
    if !errs.is_empty() {
        return Err(StoreError::Invalid(errs).into());
    }
    s.store
        .set_shipping_rule(
            Some(&actor),
            county.trim(),
            &province,
            &bazaar_domain::orders::ShippingRule {
                first_weight_g: b.first_weight_g,
                first_fee_fen: b.first_fee_fen,
                extra_unit_g: b.extra_unit_g,
                extra_fee_fen: b.extra_fee_fen,
                cold_chain_fee_fen: b.cold_chain_fee_fen,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/imports/orders/{platform}", tag = "orders", security(("bearer" = [])),
    params(("platform" = String, Path, description = "pinduoduo (拼多多 订单导出) or douyin (抖店 订单导出); the columns read are listed in the README")),
    request_body(content = String, content_type = "text/csv", description = "The platform's order export, UTF-8"),
    responses((status = 200, description = "Orders and lines created (channel import, paid, stock taken)", body = bazaar_store::orders::imports::OrderImportSummary),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Unknown platform", body = ErrorBody),
        (status = 422, description = "The file has errors: every bad row (line, column, reason: unknown SKU, out of scope, out of stock, already imported…); nothing was written", body = ErrorBody)))]
/// `POST /api/v1/imports/orders/{platform}`: imports a third-party shop's orders.
pub async fn import_orders(
    State(s): State<AppState>,
    caller: Caller,
    Path(platform): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<bazaar_store::orders::imports::OrderImportSummary>, ApiError> {
    let actor = caller.require()?.clone();
    let platform = bazaar_store::orders::imports::Platform::parse(&platform)
        .ok_or_else(|| ApiError::of(ErrorCode::NotFound))?;
    Ok(Json(s.store.import_orders(&actor, platform, &body).await?))
}
