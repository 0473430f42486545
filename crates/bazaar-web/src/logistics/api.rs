//! The logistics API: registering parcels (waybills checked per carrier), tracking one with
//! its timeline, and the phones' scan batches (each scan once, by its client id).

use crate::AppState;
use crate::app::api::body;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody, field_message};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_domain::logistics::Direction;
use bazaar_domain::people::Role;
use bazaar_store::StoreError;
use bazaar_store::logistics::ingest::{FeedEvent, IngestSummary, read_feed_csv};
use bazaar_store::logistics::parcels::{NewParcel, ScanInput, Tracked};
use bazaar_store::logistics::pickup::{PickupInput, Shelf};
use bazaar_store::logistics::watch::{ParcelNote, StalledFilter, WatchRule};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Body of `POST /api/v1/parcels`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ParcelBody {
    /// Carrier code: ems, shunfeng, yuantong, yunda, zhongtong, shentong, jtexpress, jd, qinge,
    /// huizhong (bazaar: the county's own network).
    #[schema(
        pattern = "^\\s*(ems|shunfeng|yuantong|yunda|zhongtong|shentong|jtexpress|jd|qinge|huizhong|bazaar)\\s*$"
    )]
    pub carrier: String,
    /// Waybill number as printed (spaces and dashes are ignored); it must be written the way
    /// its carrier writes them (`not_this_carrier`, 422).
    #[schema(pattern = "[0-9A-Za-z]")]
    pub waybill: String,
    /// upstream, downstream (default) or same_city.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Weight, g (up to a tonne).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub weight_g: i64,
    /// Volume, cm³ (up to 10 m³).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub volume_cm3: i64,
    /// Needs the cold chain.
    #[serde(default)]
    pub cold_chain: bool,
    /// Sender.
    #[serde(default)]
    #[schema(
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub sender_name: Option<String>,
    /// Sender's phone.
    #[serde(default)]
    pub sender_phone: Option<String>,
    /// Recipient (1 to 40 characters).
    #[serde(default)]
    #[schema(
        required = true,
        max_length = 40,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    pub recipient_name: String,
    /// Recipient's phone: 7 to 15 digits and dashes.
    #[serde(default)]
    #[schema(required = true, pattern = "^\\s*[0-9-]{7,15}\\s*$")]
    pub recipient_phone: String,
    /// Destination region code.
    #[serde(default)]
    pub dest_region: Option<String>,
    /// Destination service point (node code; also accepted as `destination_node_id`).
    #[serde(default, alias = "destination_node_id")]
    pub dest_node: Option<String>,
    /// The order it belongs to.
    #[serde(default)]
    pub order_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/parcels", tag = "logistics", security(("bearer" = [])),
    request_body = ParcelBody,
    responses((status = 201, description = "The parcel, state `ordered`", body = Tracked),
        (status = 400, description = "A field out of its schema: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Operators, agents, drivers and admins only", body = ErrorBody),
        (status = 422, description = "A waybill not written as its carrier writes them (`not_this_carrier`) or already registered (`duplicate`), a destination that does not exist or is outside the caller's region", body = ErrorBody)))]
/// `POST /api/v1/parcels`: registers a parcel.
pub async fn create_parcel(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<ParcelBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    let p = NewParcel {
        carrier: b.carrier.trim().to_string(),
        waybill: b.waybill,
        direction: b.direction.unwrap_or(Direction::Downstream),
        weight_g: b.weight_g,
        volume_cm3: b.volume_cm3,
        cold_chain: b.cold_chain,
        sender_name: b.sender_name,
        sender_phone: b.sender_phone,
        recipient_name: b.recipient_name,
        recipient_phone: b.recipient_phone.trim().to_string(),
        dest_region: b.dest_region.filter(|x| !x.trim().is_empty()),
        dest_node: b.dest_node.filter(|x| !x.trim().is_empty()),
        order_id: b.order_id,
    };
    let t = s.store.create_parcel(&actor, &p).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[utoipa::path(get, path = "/api/v1/parcels", tag = "logistics", security(("bearer" = [])),
    params(("waybill" = String, Query, pattern = "\\S", description = "Waybill number"),
        ("carrier" = Option<String>, Query, description = "Carrier code, when two carriers share the number")),
    responses((status = 200, description = "The parcel and its timeline (scans and carrier events by time)", body = Tracked),
        (status = 400, description = "No waybill, or an ambiguous one without its carrier", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such parcel the caller may see", body = ErrorBody)))]
/// `GET /api/v1/parcels?waybill=&carrier=`: one parcel's timeline, for the network's people
/// and the buyer of its order.
pub async fn parcel(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Tracked>, ApiError> {
    let actor = caller.require()?.clone();
    let waybill = q
        .get("waybill")
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .ok_or_else(|| ApiError::field("waybill", "required"))?;
    let id = match s
        .store
        .parcel_id(waybill, q.get("carrier").map(String::as_str))
        .await
    {
        Err(StoreError::Invalid(e)) if e.first().is_some_and(|f| f.field == "waybill") => {
            return Err(ApiError::of(ErrorCode::NotFound));
        }
        r => r?,
    };
    // One scope check for every caller (see `Store::parcel_access`): outside it the parcel
    // does not exist, exactly as an unknown waybill.
    Ok(Json(s.store.tracked(&actor, id).await?))
}

/// Body of `POST /api/v1/scans`: one scan (`{"waybill", "node_id", "kind"}`), or a phone's
/// queue as `{"scans": [...]}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScansBody {
    /// The phone's queued scans, oldest first (at most 5,000), each with its `client_id`.
    #[serde(default)]
    pub scans: Vec<ScanInput>,
}

fn scan_json(
    lang: crate::app::i18n::Lang,
    r: &bazaar_store::logistics::parcels::ScanResult,
) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    if let Some(e) = &r.error {
        v["error"] = json!({
            "field": e.field,
            "reason": e.reason.code(),
            "message": field_message(lang, &e.field, e.reason.code()),
        });
    }
    v
}

#[utoipa::path(post, path = "/api/v1/scans", tag = "logistics", security(("bearer" = [])),
    request_body = ScansBody,
    responses((status = 200, description = "A batch: per scan recorded, duplicate (sent before; nothing changed) or refused with the field and reason", body = Object),
        (status = 201, description = "One scan recorded: the parcel's state, and its pickup code and shelf slot when it reached a village point", body = Object),
        (status = 400, description = "A scan out of its schema (in a batch: `scans[i].field`), more than 5,000 scans, or a malformed body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Operators, agents (at their own point), drivers and admins only", body = ErrorBody),
        (status = 422, description = "One scan refused: a waybill not known here (`unknown_reference`; at a station agent's point also one bound elsewhere, `wrong_place`), a node that does not exist or the parcel cannot be at (`wrong_place`), a time outside the window (`out_of_window`)", body = ErrorBody)))]
/// `POST /api/v1/scans`: one scan, or a phone's queued scans; send a queue again after a
/// network failure as it is — each is recorded once. A sack's code as the waybill moves
/// every parcel in the sack.
pub async fn scans(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let lang = caller.lang;
    let b = body(&caller, b)?;
    let parse = |v: Value, prefix: &str| {
        serde_json::from_value::<ScanInput>(v).map_err(|e| {
            let msg = e.to_string();
            let field = [
                "waybill",
                "kind",
                "client_id",
                "node_id",
                "node_code",
                "at",
                "sack",
            ]
            .into_iter()
            .find(|f| msg.contains(&format!("`{f}`")))
            .unwrap_or("scans");
            ApiError::field(&format!("{prefix}{field}"), "invalid_format").in_lang(lang)
        })
    };
    if let Some(list) = b.get("scans") {
        let Some(list) = list.as_array() else {
            return Err(ApiError::field("scans", "invalid_format").in_lang(lang));
        };
        let mut batch = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            batch.push(parse(v.clone(), &format!("scans[{i}]."))?);
        }
        let results = s.store.record_scans(&actor, &batch).await?;
        let results: Vec<Value> = results.iter().map(|r| scan_json(lang, r)).collect();
        return Ok(Json(json!({ "results": results })).into_response());
    }
    let mut one = parse(b, "")?;
    if one.client_id.trim().is_empty() {
        one.client_id = bazaar_store::logistics::parcels::fresh_client_id();
    }
    let r = s
        .store
        .record_scans(&actor, std::slice::from_ref(&one))
        .await?
        .pop()
        .ok_or_else(|| ApiError::of(ErrorCode::Internal))?;
    if let Some(e) = &r.error {
        if e.reason == bazaar_domain::Reason::OutOfScope {
            return Err(ApiError::of(ErrorCode::Forbidden).in_lang(lang));
        }
        return Err(ApiError::field(&e.field, e.reason.code()).in_lang(lang));
    }
    let status = if r.result == "recorded" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(scan_json(lang, &r))).into_response())
}

#[utoipa::path(post, path = "/api/v1/pickups", tag = "logistics", security(("bearer" = [])),
    request_body = PickupInput,
    responses((status = 200, description = "Handed over: the parcel, now delivered, with its timeline", body = Tracked),
        (status = 400, description = "A missing or malformed field", body = ErrorBody),
        (status = 403, description = "Not the agent of this point (or an operator over it)", body = ErrorBody),
        (status = 404, description = "No parcel waiting at this point under that code", body = ErrorBody),
        (status = 422, description = "A wrong pickup code (`code`) or phone ending (`phone_last4`, `wrong_code`), or a point that does not exist (`unknown_reference`)", body = ErrorBody),
        (status = 429, description = "Too many wrong attempts at this point: wait a quarter of an hour", body = ErrorBody)))]
/// `POST /api/v1/pickups`: the agent hands a waiting parcel over against its pickup code and
/// the last four digits of the recipient's phone, recording the signature.
pub async fn pickup(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<PickupInput>, JsonRejection>,
) -> Result<Json<Tracked>, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    Ok(Json(s.store.hand_over(&actor, &b).await?))
}

#[utoipa::path(get, path = "/api/v1/shelf", tag = "logistics", security(("bearer" = [])),
    params(("node" = Option<String>, Query, description = "The point (the agent's own when omitted)")),
    responses((status = 200, description = "Parcels waiting at the point by shelf slot (phones masked), and what goes out today", body = Shelf),
        (status = 403, description = "Not the agent of this point (or an operator over it)", body = ErrorBody),
        (status = 404, description = "No such point", body = ErrorBody),
        (status = 422, description = "An operator or admin (who has no point of their own) named none (`node_code` required), or the point does not exist (`unknown_reference`)", body = ErrorBody)))]
/// `GET /api/v1/shelf`: a village point's shelf.
pub async fn shelf(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Shelf>, ApiError> {
    let actor = caller.require()?.clone();
    let node = q.get("node").map(|x| x.trim()).filter(|x| !x.is_empty());
    // Whether a point must be named depends on the caller, not on the request's shape.
    let shelf = s.store.shelf(&actor, node).await.map_err(|e| {
        let e = ApiError::from(e);
        if node.is_none() && e.field.as_deref() == Some("node_code") {
            ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                ..e
            }
        } else {
            e
        }
    })?;
    Ok(Json(shelf))
}

/// Reads the stalled list's filters from a query string.
pub(crate) fn stalled_filter(
    q: &HashMap<String, String>,
    max: i64,
) -> Result<StalledFilter, ApiError> {
    let get = |k: &str| q.get(k).map(|x| x.trim()).filter(|x| !x.is_empty());
    let mut f = StalledFilter {
        carrier: get("carrier").map(String::from),
        node: get("node").map(String::from),
        limit: 20,
        ..StalledFilter::default()
    };
    if let Some(c) = &f.carrier
        && bazaar_domain::logistics::carrier(c).is_none()
    {
        return Err(ApiError::field("carrier", "unknown_choice"));
    }
    if let Some(x) = get("seller") {
        f.seller_id = Some(
            x.parse()
                .map_err(|_| ApiError::field("seller", "invalid_format"))?,
        );
    }
    if let Some(n) = crate::app::api::limit_param(q, max)? {
        f.limit = n;
    }
    if let Some(x) = get("cursor") {
        let (a, b) = x
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| ApiError::field("cursor", "invalid_format"))?;
        f.after = Some((a, b));
    }
    Ok(f)
}

#[utoipa::path(get, path = "/api/v1/parcels/stalled", tag = "logistics", security(("bearer" = [])),
    params(("carrier" = Option<String>, Query, pattern = "^(|ems|shunfeng|yuantong|yunda|zhongtong|shentong|jtexpress|jd|qinge|huizhong)$", description = "Only this carrier"),
        ("node" = Option<String>, Query, description = "Only parcels last scanned at this node"),
        ("seller" = Option<i64>, Query, description = "Only this seller's"),
        ("cursor" = Option<String>, Query, pattern = "^([+-]?[0-9]{1,18}\\.[+-]?[0-9]{1,18})?$", description = "From `next_cursor`"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1 to 100 (default 20)")),
    responses((status = 200, description = "As of the request: open parcels in the caller's scope whose last event is older than their carrier's and direction's limit (48 hours unless set), oldest news first, with where each stopped, for how long, and the notes; and, on the first page, the counts by carrier, node and seller", body = Object),
        (status = 400, description = "Bad filter: the field and the reason", body = ErrorBody),
        (status = 403, description = "Operators, agents, sellers and admins only", body = ErrorBody)))]
/// `GET /api/v1/parcels/stalled`: what the 48-hour watch would flag right now.
pub async fn stalled(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let f = stalled_filter(&q, 100).map_err(|e| e.in_lang(caller.lang))?;
    let now = bazaar_domain::time::now_ms();
    let mut items = s
        .store
        .stalled(
            &actor,
            now,
            &StalledFilter {
                limit: f.limit + 1,
                ..f.clone()
            },
        )
        .await?;
    let next = if items.len() as i64 > f.limit {
        items.truncate(f.limit as usize);
        items
            .last()
            .map(|p| format!("{}.{}", p.last_event_at, p.id))
    } else {
        None
    };
    // The counts read every stalled parcel: on the first page only.
    let summary = match f.after {
        None => Some(s.store.stalled_summary(&actor, now).await?),
        Some(_) => None,
    };
    let items: Vec<Value> = items
        .into_iter()
        .map(|p| {
            let hours = (now - p.last_event_at) / 3_600_000;
            let mut v = serde_json::to_value(&p).unwrap_or_else(|_| json!({}));
            v["hours_without_news"] = json!(hours);
            v
        })
        .collect();
    Ok(Json(json!({
        "as_of": now,
        "items": items,
        "next_cursor": next,
        "summary": summary,
    })))
}

/// Body of `POST /api/v1/parcels/{id}/notes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoteBody {
    /// The note (at most 500 characters).
    #[serde(default)]
    #[schema(required = true, max_length = 500, pattern = "\\S")]
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/parcels/{id}/notes", tag = "logistics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Parcel id")), request_body = NoteBody,
    responses((status = 201, description = "The parcel's notes, oldest first", body = Vec<ParcelNote>),
        (status = 400, description = "An empty or too long note", body = ErrorBody),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 404, description = "No such parcel in the caller's region", body = ErrorBody)))]
/// `POST /api/v1/parcels/{id}/notes`: an operator annotates a (stalled) parcel.
pub async fn add_note(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    b: Result<Json<NoteBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::of(ErrorCode::NotFound))?;
    let b = body(&caller, b)?;
    let notes = s.store.annotate_parcel(&actor, id, &b.body).await?;
    Ok((StatusCode::CREATED, Json(notes)).into_response())
}

#[utoipa::path(get, path = "/api/v1/watch/rules", tag = "logistics", security(("bearer" = [])),
    responses((status = 200, description = "Hours without news after which an open parcel is stalled, per carrier and direction (`*` for any; the most specific wins)", body = Vec<WatchRule>)))]
/// `GET /api/v1/watch/rules`.
pub async fn watch_rules(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WatchRule>>, ApiError> {
    caller.require()?;
    Ok(Json(s.store.watch_rules().await?))
}

#[utoipa::path(put, path = "/api/v1/watch/rules", tag = "logistics", security(("bearer" = [])),
    request_body = WatchRule,
    responses((status = 200, description = "The rules after the change", body = Vec<WatchRule>),
        (status = 400, description = "Unknown carrier or direction, hours out of 1–1440", body = ErrorBody),
        (status = 403, description = "Admins only (the rules hold for every county)", body = ErrorBody)))]
/// `PUT /api/v1/watch/rules`: sets one rule.
pub async fn set_watch_rule(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<WatchRule>, JsonRejection>,
) -> Result<Json<Vec<WatchRule>>, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    s.store.set_watch_rule(&actor, &b).await?;
    Ok(Json(s.store.watch_rules().await?))
}

/// 快递100's answer to a push.
fn kd_answer(status: StatusCode, ok: bool, message: &str) -> Response {
    (
        status,
        Json(json!({"result": ok, "returnCode": status.as_u16().to_string(), "message": message})),
    )
        .into_response()
}

/// 快递100's subscription push, as its form fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Kuaidi100Push {
    /// The push as JSON text, with `lastResult` (`com`, `nu`, `state`, `data`).
    pub param: String,
    /// MD5 of `param` followed by the salt, upper-case hex.
    pub sign: String,
}

#[utoipa::path(post, path = "/api/v1/tracking/kuaidi100", tag = "logistics",
    request_body(content = Kuaidi100Push, content_type = "application/x-www-form-urlencoded",
        description = "快递100 subscription push: `param` (the JSON with `lastResult`) and `sign` = MD5(param + salt), upper-case hex"),
    responses((status = 200, description = "`{\"result\": true, \"returnCode\": \"200\"}`; a repeated push changes nothing", body = Object),
        (status = 400, description = "`param` or `sign` missing, or not a form: nothing stored", body = Object),
        (status = 422, description = "A signature that does not match, or a `param` that is not a push (not JSON, unknown carrier, no waybill, a bad event time): nothing stored", body = Object),
        (status = 404, description = "No parcel with that waybill: nothing stored", body = Object),
        (status = 503, description = "No 快递100 salt configured", body = Object)))]
/// `POST /api/v1/tracking/kuaidi100`: 快递100's subscription push, verified by its signature.
pub async fn kuaidi100_push(
    State(s): State<AppState>,
    form: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(salt) = s.kuaidi100_salt.as_deref() else {
        return kd_answer(StatusCode::SERVICE_UNAVAILABLE, false, "not configured");
    };
    let Ok(axum::Form(form)) = form else {
        return kd_answer(StatusCode::BAD_REQUEST, false, "malformed form");
    };
    let (Some(param), Some(sign)) = (form.get("param"), form.get("sign")) else {
        return kd_answer(StatusCode::BAD_REQUEST, false, "param and sign required");
    };
    if !bazaar_integrations::kuaidi100::verify(param, sign, salt) {
        tracing::warn!("快递100 push with a bad signature refused");
        return kd_answer(StatusCode::UNPROCESSABLE_ENTITY, false, "bad signature");
    }
    let push = match bazaar_integrations::kuaidi100::parse(param) {
        Ok(p) => p,
        Err(why) => return kd_answer(StatusCode::UNPROCESSABLE_ENTITY, false, why),
    };
    let events: Vec<_> = push
        .events
        .into_iter()
        .map(|e| bazaar_store::logistics::parcels::CarrierEvent {
            code: e.code,
            at: e.at,
            note: e.note,
            place: e.place,
        })
        .collect();
    let id = match s.store.parcel_id(&push.waybill, Some(push.carrier)).await {
        Ok(id) => id,
        Err(StoreError::Invalid(_)) => {
            return kd_answer(StatusCode::NOT_FOUND, false, "unknown parcel");
        }
        Err(e) => {
            tracing::error!(error = %e, "快递100 push failed");
            return kd_answer(StatusCode::INTERNAL_SERVER_ERROR, false, "internal");
        }
    };
    match s.store.record_carrier_events(id, &events).await {
        Ok(_) => kd_answer(StatusCode::OK, true, "成功"),
        Err(e) => {
            tracing::error!(error = %e, "快递100 push failed");
            kd_answer(StatusCode::INTERNAL_SERVER_ERROR, false, "internal")
        }
    }
}

/// Body of `POST /api/v1/tracking/events`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CarrierEventsBody {
    /// Carrier code.
    #[schema(
        pattern = "^(ems|shunfeng|yuantong|yunda|zhongtong|shentong|jtexpress|jd|qinge|huizhong)$"
    )]
    pub carrier: String,
    /// Waybill number.
    pub waybill: String,
    /// The events (codes as 快递100's: 0 在途, 1 揽收, 3 签收, 501 投柜或驿站, …), at most 1,000.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub events: Vec<bazaar_store::logistics::parcels::CarrierEvent>,
}

#[utoipa::path(post, path = "/api/v1/tracking/events", tag = "logistics", security(("bearer" = [])),
    request_body = CarrierEventsBody,
    responses((status = 200, description = "How many events were new and the parcel's state", body = Object),
        (status = 400, description = "Unknown carrier, an event out of its schema, more than 1,000 events", body = ErrorBody),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 404, description = "No parcel with this carrier and waybill that the caller may see", body = ErrorBody),
        (status = 422, description = "An event more than an hour ahead of now (`events`, `out_of_window`)", body = ErrorBody)))]
/// `POST /api/v1/tracking/events`: a carrier's events as plain JSON (a batch feed; operators).
pub async fn carrier_events(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<CarrierEventsBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    if !matches!(actor.role, Role::Admin | Role::Operator) {
        return Err(ApiError::of(ErrorCode::Forbidden));
    }
    let b = body(&caller, b)?;
    if bazaar_domain::logistics::carrier(&b.carrier).is_none() {
        return Err(ApiError::field("carrier", "unknown_choice"));
    }
    use bazaar_domain::time::{EARLIEST_MS, LATEST_MS};
    let now = bazaar_domain::time::now_ms();
    if b.events.len() > 1000
        || b.events.iter().any(|e| {
            let code = e.code.trim();
            !(EARLIEST_MS..=LATEST_MS).contains(&e.at)
                || !(1..=10).contains(&code.len())
                || !code.bytes().all(|c| c.is_ascii_graphic())
                || e.place.as_ref().is_some_and(|x| x.chars().count() > 100)
                || e.note.as_ref().is_some_and(|x| x.chars().count() > 500)
        })
    {
        return Err(ApiError::field("events", "out_of_range"));
    }
    // No later than an hour from now (carriers' clocks drift a little), as the batch feed.
    if b.events.iter().any(|e| e.at > now + 3_600_000) {
        return Err(ApiError::field("events", "out_of_window"));
    }
    let id = match s.store.parcel_id(&b.waybill, Some(&b.carrier)).await {
        Err(StoreError::Invalid(e)) if e.first().is_some_and(|f| f.field == "waybill") => {
            return Err(ApiError::of(ErrorCode::NotFound));
        }
        r => r?,
    };
    let new = s.store.carrier_events(&actor, id, &b.events).await?;
    let t = s.store.tracked(&actor, id).await?;
    Ok(Json(json!({"new": new, "state": t.parcel.state})))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/parcels", tag = "logistics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order's parcels, each with one timeline of our scans and the carrier's events", body = Vec<Tracked>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such order the caller may see", body = ErrorBody)))]
/// `GET /api/v1/orders/{id}/parcels`: tracking of an order.
pub async fn order_parcels(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<Vec<Tracked>>, ApiError> {
    let actor = caller.require()?.clone();
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::of(ErrorCode::NotFound))?;
    Ok(Json(s.store.order_parcels(&actor, id).await?))
}

/// Body of `POST /api/v1/tracking/batch` as JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeedBody {
    /// The events (at most 20,000).
    #[serde(default)]
    pub events: Vec<FeedEvent>,
}

#[utoipa::path(post, path = "/api/v1/tracking/batch", tag = "logistics", security(("bearer" = [])),
    request_body(content = FeedBody, description = "JSON `{\"events\": [{carrier, waybill, code, at | time, place, note}]}`, or `text/csv` with the columns `carrier,waybill,code,time,place,note` (`time` as `YYYY-MM-DD HH:MM:SS` Beijing time or UTC ms)"),
    responses((status = 200, description = "How many events, how many were new (repeats change nothing), how many parcels moved", body = IngestSummary),
        (status = 400, description = "A malformed body", body = ErrorBody),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 422, description = "Bad rows, every one listed (line, column, reason: unknown carrier, a waybill not in its format or not registered, a bad code or time); nothing was written", body = ErrorBody)))]
/// `POST /api/v1/tracking/batch`: a carrier's tracking feed in bulk, all or nothing.
pub async fn tracking_batch(
    State(s): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<IngestSummary>, ApiError> {
    let actor = caller.require()?.clone();
    let lang = caller.lang;
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let rows = if csv {
        read_feed_csv(&body).map_err(|e| ApiError::from(e).in_lang(lang))?
    } else {
        let b: FeedBody = serde_json::from_slice(&body)
            .map_err(|_| ApiError::of(ErrorCode::InvalidJson).in_lang(lang))?;
        b.events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i as u64 + 1, e))
            .collect()
    };
    let r = s
        .store
        .ingest_carrier_events(Some(&actor), &rows)
        .await
        .map_err(|e| ApiError::from(e).in_lang(lang))?;
    Ok(Json(r))
}

#[utoipa::path(post, path = "/api/v1/parcels/manifest", tag = "logistics", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "A carrier's manifest: `carrier,waybill,recipient_name,recipient_phone,destination_node_id` and optionally `weight_g,volume_cm3,cold_chain,sender_name`"),
    responses((status = 200, description = "Parcels registered (downstream, in transit to the county)", body = IngestSummary),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 422, description = "Bad rows, every one listed; nothing was written", body = ErrorBody)))]
/// `POST /api/v1/parcels/manifest`: the parcels a carrier brings down to the county, from
/// its manifest CSV, all or nothing.
pub async fn manifest(
    State(s): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<IngestSummary>, ApiError> {
    let actor = caller.require()?.clone();
    let r = s
        .store
        .import_manifest(&actor, &body)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    Ok(Json(r))
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "logistics", security(("bearer" = [])),
    params(("status" = String, Query, pattern = "^failed$", description = "`failed`: notifications that failed their last attempt (the only list there is)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "At most this many, newest first (default 50)")),
    responses((status = 200, description = "Notifications no channel could deliver, phones masked", body = Vec<bazaar_store::logistics::pickup::FailedNotification>),
        (status = 400, description = "Bad input: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody)))]
/// `GET /api/v1/notifications?status=failed`: what the outbox could not deliver after every
/// attempt (kept, never dropped), for an admin to look into and send again.
pub async fn failed_notifications(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<bazaar_store::logistics::pickup::FailedNotification>>, ApiError> {
    let actor = caller.require()?.clone();
    if q.get("status").map(String::as_str) != Some("failed") {
        return Err(ApiError::field("status", "unknown_choice").in_lang(caller.lang));
    }
    let limit = crate::app::api::limit_param(&q, 200)
        .map_err(|e| e.in_lang(caller.lang))?
        .unwrap_or(50);
    let mut failed = s.store.failed_notifications(&actor, limit).await?;
    // A gateway's error may echo the message: no pickup code or phone shown.
    for n in &mut failed {
        n.error = n.error.as_deref().map(crate::notify::mask_codes);
    }
    Ok(Json(failed))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/retry", tag = "logistics", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 204, description = "It will be sent again on the next drain"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such unsent notification", body = ErrorBody)))]
/// `POST /api/v1/notifications/{id}/retry`: sends a failed notification again.
pub async fn retry_notification(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let actor = caller.require()?.clone();
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::of(ErrorCode::NotFound))?;
    s.store.retry_notification(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
