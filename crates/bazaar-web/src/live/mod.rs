//! Live selling over the API: sessions and their actions, flash offers, and flash orders
//! through this node's [`desk::FlashDesk`].

pub mod desk;
pub mod feed;
pub mod manage;
pub mod pages;

use crate::AppState;
use crate::app::api::body;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_domain::live::{DEFAULT_HOLD_MINUTES, OfferAction, OfferTerms, Platform, SessionAction};
use bazaar_domain::time::{parse_rfc3339, rfc3339};
use bazaar_domain::{FieldError, Reason};
use bazaar_store::StoreError;
use bazaar_store::live::flash::FlashRequest;
use bazaar_store::live::offers::{NewOffer, Offer};
use bazaar_store::live::{NewSession, Session};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .map_err(|_| ApiError::of(ErrorCode::NotFound))
}

/// A time sent in `field`: needed, RFC 3339. One of the documented shape that names no
/// real moment (the 31st of February) is `inconsistent`.
fn time_field(errs: &mut Vec<FieldError>, field: &str, v: &Option<String>) -> i64 {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errs.push(FieldError::new(field, Reason::Needed));
            0
        }
        Some(s) => parse_rfc3339(field, s).unwrap_or_else(|mut e| {
            if e.reason == Reason::InvalidFormat && s.len() >= 20 && s.as_bytes()[10] == b'T' {
                e.reason = Reason::Inconsistent;
            }
            errs.push(e);
            0
        }),
    }
}

/// A session as the API shows it (times in RFC 3339).
fn session_json(s: &Session) -> Value {
    json!({
        "id": s.id,
        "status": s.status,
        "room_node": s.room_node,
        "title": s.title,
        "platform": s.platform,
        "stream_url": s.stream_url,
        "planned_start": rfc3339(s.planned_start),
        "planned_end": rfc3339(s.planned_end),
        "started_at": s.started_at.map(rfc3339),
        "ended_at": s.ended_at.map(rfc3339),
        "pinned_product_id": s.pinned_product_id,
    })
}

/// An offer as the API shows it, with what is left.
fn offer_json(o: &Offer) -> Value {
    json!({
        "id": o.id,
        "session_id": o.session_id,
        "status": o.status,
        "sku_id": o.sku_id,
        "price_fen": o.price_fen,
        "cap": o.cap,
        "sold": o.sold,
        "held": o.held,
        "remaining": o.remaining(),
        "per_buyer_limit": o.per_buyer_limit,
        "per_order_limit": o.per_order_limit,
        "starts_at": rfc3339(o.starts_at),
        "ends_at": rfc3339(o.ends_at),
        "hold_minutes": o.hold_ms / 60_000,
    })
}

/// A new session.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SessionBody {
    /// The live room: a network node's code (e.g. `VP-HARENGEN`).
    pub room_node: String,
    /// Title, at most 100 characters.
    #[schema(
        max_length = 100,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub title: String,
    /// douyin, kuaishou, channels (微信视频号) or other.
    #[schema(pattern = "^\\s*(douyin|kuaishou|channels|other)\\s*$")]
    pub platform: String,
    /// The stream's address on its platform (http or https).
    #[schema(
        max_length = 500,
        pattern = "^\\s*(https?://[^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?\\s*$"
    )]
    pub stream_url: Option<String>,
    /// Planned start, RFC 3339 (years 2000–2099).
    #[schema(
        pattern = "^\\s*(20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?\\s*$"
    )]
    pub planned_start: Option<String>,
    /// Planned end, RFC 3339, after the start.
    #[schema(
        pattern = "^\\s*(20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?\\s*$"
    )]
    pub planned_end: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/live/sessions", tag = "live", security(("bearer" = [])),
    request_body = SessionBody,
    responses((status = 201, description = "The session, scheduled", body = Object),
        (status = 400, description = "A field refused: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a host or agent of this room, nor an operator of its region", body = ErrorBody),
        (status = 422, description = "No such room (`unknown_reference`), an end before the start (`inconsistent`)", body = ErrorBody)))]
/// `POST /api/v1/live/sessions`: announces a session.
pub async fn create_session(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<SessionBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let mut errs = vec![];
    let platform = Platform::parse("platform", &b.platform).unwrap_or_else(|e| {
        errs.push(e);
        Platform::Other
    });
    let planned_start = time_field(&mut errs, "planned_start", &b.planned_start);
    let planned_end = time_field(&mut errs, "planned_end", &b.planned_end);
    if !errs.is_empty() {
        return Err(StoreError::Invalid(errs).into());
    }
    let session = s
        .store
        .create_session(
            &actor,
            &NewSession {
                room_node: b.room_node.trim().to_string(),
                title: b.title,
                platform,
                stream_url: b.stream_url,
                planned_start,
                planned_end,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(session_json(&session))).into_response())
}

#[utoipa::path(get, path = "/api/v1/live/sessions/{id}", tag = "live",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, description = "The session, its products in order, its pins and its offers", body = Object),
        (status = 404, description = "No such session", body = ErrorBody)))]
/// `GET /api/v1/live/sessions/{id}`: a session as its page shows it (public).
pub async fn session(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = id_of(&id)?;
    let session = s.store.session(id).await?;
    let offers = s.store.session_offers(id).await?;
    let products = s.store.session_products(id).await?;
    let pins = s.store.session_pins(id).await?;
    let mut v = session_json(&session);
    v["products"] = json!(
        products
            .iter()
            .map(|(p, on)| json!({"product_id": p, "on_shelf": on}))
            .collect::<Vec<_>>()
    );
    v["pins"] = json!(
        pins.iter()
            .map(|(p, at, until)| json!({"product_id": p, "pinned_at": rfc3339(*at), "unpinned_at": until.map(rfc3339)}))
            .collect::<Vec<_>>()
    );
    v["offers"] = json!(offers.iter().map(offer_json).collect::<Vec<_>>());
    Ok(Json(v))
}

/// A session action.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SessionActionBody {
    /// start, pause, resume, end or pin.
    #[schema(pattern = "^\\s*(start|pause|resume|end|pin)\\s*$")]
    pub action: String,
    /// The product to pin (needed with `pin`).
    pub product_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/live/sessions/{id}/actions", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Session id")), request_body = SessionActionBody,
    responses((status = 200, description = "The session after the action", body = Object),
        (status = 400, description = "Unknown action; `pin` without `product_id`", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a host or agent of this room, nor an operator of its region", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "Not allowed from the session's status (`invalid_transition`)", body = ErrorBody),
        (status = 422, description = "A product that is not listed (`unknown_reference`)", body = ErrorBody)))]
/// `POST /api/v1/live/sessions/{id}/actions`: start, pause, resume, end, pin.
pub async fn session_action(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<SessionActionBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let id = id_of(&id)?;
    let action =
        SessionAction::parse("action", &b.action).map_err(|e| StoreError::Invalid(vec![e]))?;
    let session = s
        .store
        .session_action(&actor, id, action, b.product_id)
        .await?;
    Ok(Json(session_json(&session)))
}

/// A new flash offer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OfferBody {
    /// The SKU (of a listed product).
    pub sku_id: i64,
    /// The network node whose stock holds the units (absent: the seller's own stock).
    pub location: Option<String>,
    /// Price of one unit, fen (at least 1).
    #[schema(minimum = 1)]
    pub price_fen: i64,
    /// Units on offer, 1 to 10,000,000, set aside from the stock at once.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub cap: i64,
    /// Most units one buyer may hold or buy (at least 1).
    #[schema(minimum = 1)]
    pub per_buyer_limit: i64,
    /// Most units in one order (1 to the per-buyer limit).
    #[schema(minimum = 1)]
    pub per_order_limit: i64,
    /// Opens at, RFC 3339 (years 2000–2099).
    #[schema(
        pattern = "^\\s*(20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?\\s*$"
    )]
    pub starts_at: Option<String>,
    /// Closes at, RFC 3339, after the start.
    #[schema(
        pattern = "^\\s*(20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?\\s*$"
    )]
    pub ends_at: Option<String>,
    /// How long an order holds its units for payment, 1 to 60 minutes (default 10).
    #[schema(minimum = 1, maximum = 60)]
    pub hold_minutes: Option<i64>,
    /// Keep it a draft (nothing set aside until it is scheduled).
    #[serde(default)]
    pub draft: bool,
}

#[utoipa::path(post, path = "/api/v1/live/sessions/{id}/offers", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Session id")), request_body = OfferBody,
    responses((status = 201, description = "The offer, scheduled (its cap set aside) or a draft", body = Object),
        (status = 400, description = "A field refused: the field and the reason (`out_of_range`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a host or agent of this room, nor an operator of its region", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
        (status = 409, description = "The session has ended (`invalid_transition`)", body = ErrorBody),
        (status = 422, description = "A cap above the free stock (`cap`: `over_total`), an end before the start or a per-order limit above the per-buyer one (`inconsistent`), an unknown SKU or location (`unknown_reference`)", body = ErrorBody)))]
/// `POST /api/v1/live/sessions/{id}/offers`: writes a flash offer.
pub async fn create_offer(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<OfferBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let id = id_of(&id)?;
    let mut errs = vec![];
    let starts_at = time_field(&mut errs, "starts_at", &b.starts_at);
    let ends_at = time_field(&mut errs, "ends_at", &b.ends_at);
    if !errs.is_empty() {
        return Err(StoreError::Invalid(errs).into());
    }
    let offer = s
        .store
        .create_offer(
            &actor,
            id,
            &NewOffer {
                sku_id: b.sku_id,
                location: b.location.filter(|l| !l.trim().is_empty()),
                terms: OfferTerms {
                    price_fen: b.price_fen,
                    cap: b.cap,
                    per_buyer_limit: b.per_buyer_limit,
                    per_order_limit: b.per_order_limit,
                    starts_at,
                    ends_at,
                    hold_minutes: b.hold_minutes.unwrap_or(DEFAULT_HOLD_MINUTES),
                },
                schedule: !b.draft,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(offer_json(&offer))).into_response())
}

#[utoipa::path(get, path = "/api/v1/offers/{id}", tag = "live",
    params(("id" = i64, Path, description = "Offer id")),
    responses((status = 200, description = "The offer: `status`, `cap`, `sold`, `held`, `remaining`, `price_fen`, `per_buyer_limit`, …", body = Object),
        (status = 404, description = "No such offer", body = ErrorBody)))]
/// `GET /api/v1/offers/{id}`: an offer and what is left of it (public).
pub async fn offer(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(offer_json(&s.store.offer(id_of(&id)?).await?)))
}

/// An offer action.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OfferActionBody {
    /// schedule, start, pause, resume or stop.
    #[schema(pattern = "^\\s*(schedule|start|pause|resume|stop)\\s*$")]
    pub action: String,
}

#[utoipa::path(post, path = "/api/v1/offers/{id}/actions", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Offer id")), request_body = OfferActionBody,
    responses((status = 200, description = "The offer after the action", body = Object),
        (status = 400, description = "Unknown action", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a host or agent of the session's room, nor an operator of its region", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
        (status = 409, description = "Not allowed from the offer's status (`invalid_transition`: an ended offer never reopens), its time is over (`offer_ended`)", body = ErrorBody),
        (status = 422, description = "Scheduling a draft whose cap is above the free stock (`cap`: `over_total`)", body = ErrorBody)))]
/// `POST /api/v1/offers/{id}/actions`: schedule, start, pause, resume, stop.
pub async fn offer_action(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<OfferActionBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let action =
        OfferAction::parse("action", &b.action).map_err(|e| StoreError::Invalid(vec![e]))?;
    let offer = s.store.offer_action(&actor, id_of(&id)?, action).await?;
    Ok(Json(offer_json(&offer)))
}

/// A flash order.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct FlashBody {
    /// Units, 1 to the offer's per-order limit (above it: 422 `over_total`).
    #[schema(minimum = 1)]
    pub quantity: i64,
    /// One of the buyer's addresses (absent: the default one).
    pub address_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/offers/{id}/orders", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Offer id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[ \\t]*[!-~]{1,100}[ \\t]*$", description = "1 to 100 visible ASCII characters. The same key answers with the same order")),
    request_body = FlashBody,
    responses((status = 201, description = "The order at the offer's price, its units held for the offer's payment window (as `GET /api/v1/orders/{id}` shows it); answered only once it is stored", body = bazaar_store::orders::Order),
        (status = 400, description = "A quantity outside 1 to the per-order limit (`out_of_range`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such offer", body = ErrorBody),
        (status = 409, description = "`sold_out`, `limit_exceeded` (the buyer would hold more than the per-buyer limit), `offer_not_live`, `offer_ended`, `address_not_served`, `no_default_address`; nothing was reserved", body = ErrorBody),
        (status = 422, description = "An address that is not the buyer's (`unknown_reference`)", body = ErrorBody)))]
/// `POST /api/v1/offers/{id}/orders`: a flash order, decided with the others arriving on
/// this node meanwhile in one transaction.
pub async fn flash_order(
    State(s): State<AppState>,
    caller: Caller,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Json<FlashBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let key = crate::orders::api::idempotency_key(&h)?;
    let offer = id_of(&id)?;
    let placed = s
        .flash
        .order(
            &s.store,
            offer,
            FlashRequest {
                buyer: actor,
                quantity: b.quantity,
                address_id: b.address_id,
                key,
            },
        )
        .await?;
    Ok(crate::orders::api::placed_response(placed))
}

#[utoipa::path(get, path = "/api/v1/live/sessions/{id}/events", tag = "live",
    params(("id" = i64, Path, description = "Session id"),
        ("Last-Event-ID" = Option<String>, Header, description = "The last event seen: every event is the whole state, so the stream resumes with the current one")),
    responses((status = 200, description = "`text/event-stream` of `state` events: the session's status, its pinned product and each offer's `status`, `sold`, `held` and `remaining`, sent at once and whenever they change (within a second of a change on any node); a comment line every 15 s keeps proxies from closing it", content_type = "text/event-stream", body = Object),
        (status = 404, description = "No such session", body = ErrorBody)))]
/// `GET /api/v1/live/sessions/{id}/events`: the session's state as server-sent events.
pub async fn events(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let id = id_of(&id)?;
    let rx = s
        .feed
        .follow(&s.store, id)
        .await
        .ok_or_else(|| ApiError::of(ErrorCode::NotFound))?;
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let (n, v) = rx.borrow_and_update().clone();
        let e = Event::default()
            .event("state")
            .id(n.to_string())
            .data(v.to_string());
        Some((Ok::<_, std::convert::Infallible>(e), (rx, false)))
    });
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response();
    // Nginx and the like pass each event on at once.
    res.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/live/sessions/{id}/dashboard", tag = "live", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, description = "`gmv_fen` (goods paid for, at the offers' prices; shipping not counted), `orders` (held or paid), `paid_orders`, `buyers` (distinct), and each offer's `sold`, `held` and `remaining`", body = bazaar_store::live::Figures),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a host or agent of this room, nor an operator of its region", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody)))]
/// `GET /api/v1/live/sessions/{id}/dashboard`: a session's figures.
pub async fn dashboard(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<bazaar_store::live::Figures>, ApiError> {
    let actor = caller.require()?.clone();
    Ok(Json(s.store.session_figures(&actor, id_of(&id)?).await?))
}
