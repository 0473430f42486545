//! The logistics API: registering parcels (waybills checked per carrier), tracking one with
//! its timeline, and the phones' scan batches (each scan once, by its client id).

use crate::AppState;
use crate::api::body;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, field_message};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::logistics::Direction;
use bazaar_domain::people::Role;
use bazaar_store::StoreError;
use bazaar_store::parcels::{NewParcel, ScanInput, Tracked};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Body of `POST /api/v1/parcels`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ParcelBody {
    /// Carrier code: ems, shunfeng, yuantong, yunda, zhongtong, shentong, jtexpress, jd, qinge,
    /// huizhong.
    pub carrier: String,
    /// Waybill number as printed.
    pub waybill: String,
    /// upstream, downstream (default) or same_city.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Weight, g.
    #[serde(default)]
    pub weight_g: i64,
    /// Volume, cm³.
    #[serde(default)]
    pub volume_cm3: i64,
    /// Needs the cold chain.
    #[serde(default)]
    pub cold_chain: bool,
    /// Sender.
    #[serde(default)]
    pub sender_name: Option<String>,
    /// Sender's phone.
    #[serde(default)]
    pub sender_phone: Option<String>,
    /// Recipient.
    #[serde(default)]
    pub recipient_name: String,
    /// Recipient's phone.
    #[serde(default)]
    pub recipient_phone: String,
    /// Destination region code.
    #[serde(default)]
    pub dest_region: Option<String>,
    /// Destination service point (node code).
    #[serde(default)]
    pub dest_node: Option<String>,
    /// The order it belongs to.
    #[serde(default)]
    pub order_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/parcels", tag = "logistics", security(("bearer" = [])),
    request_body = ParcelBody,
    responses((status = 201, description = "The parcel, state `ordered`", body = Tracked),
        (status = 400, description = "Bad input: the field and the reason (a waybill not in its carrier's format, a duplicate)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Operators, agents, drivers and admins only", body = ErrorBody)))]
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
    params(("waybill" = String, Query, description = "Waybill number"),
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
            return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found"));
        }
        r => r?,
    };
    let t = s.store.tracked(&actor, id).await?;
    let handler = matches!(
        actor.role,
        Role::Admin | Role::Operator | Role::Agent | Role::Driver
    );
    let own_order = match t.parcel.order_id {
        Some(o) => s.store.order(&actor, o).await.is_ok(),
        None => false,
    };
    if !(handler || own_order) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found"));
    }
    Ok(Json(t))
}

/// Body of `POST /api/v1/scans`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScansBody {
    /// The phone's queued scans, oldest first (at most 500).
    #[serde(default)]
    pub scans: Vec<ScanInput>,
}

#[utoipa::path(post, path = "/api/v1/scans", tag = "logistics", security(("bearer" = [])),
    request_body = ScansBody,
    responses((status = 200, description = "Per scan: recorded, duplicate (sent before; nothing changed) or refused with the field and reason", body = Object),
        (status = 400, description = "More than 500 scans, or a malformed body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Operators, agents, drivers and admins only", body = ErrorBody)))]
/// `POST /api/v1/scans`: a phone's queued scans; send them again after a network failure as
/// they are — each is recorded once.
pub async fn scans(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<ScansBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    let lang = caller.lang;
    let b = body(&caller, b)?;
    let results = s.store.record_scans(&actor, &b.scans).await?;
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| {
            let mut v = json!({"client_id": r.client_id, "result": r.result});
            if let Some(st) = r.state {
                v["state"] = json!(st);
            }
            if let Some(e) = r.error {
                v["error"] = json!({
                    "field": e.field,
                    "reason": e.reason.code(),
                    "message": field_message(lang, &e.field, e.reason.code()),
                });
            }
            v
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// 快递100's answer to a push.
fn kd_answer(status: StatusCode, ok: bool, message: &str) -> Response {
    (
        status,
        Json(json!({"result": ok, "returnCode": status.as_u16().to_string(), "message": message})),
    )
        .into_response()
}

/// Our carrier code for a 快递100 company code.
fn carrier_of_kuaidi100(com: &str) -> Option<&'static str> {
    let ours = match com {
        "youzhengguonei" | "youzhengbk" => "ems",
        c => c,
    };
    bazaar_domain::logistics::carrier(ours).map(|c| c.code)
}

#[utoipa::path(post, path = "/api/v1/tracking/kuaidi100", tag = "logistics",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "快递100 subscription push: `param` (the JSON with `lastResult`) and `sign` = MD5(param + salt), upper-case hex"),
    responses((status = 200, description = "`{\"result\": true, \"returnCode\": \"200\"}`; a repeated push changes nothing", body = Object),
        (status = 400, description = "Bad signature, unknown carrier or malformed param: nothing stored", body = Object),
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
    use md5::Digest;
    let expected = hex::encode_upper(md5::Md5::digest(format!("{param}{salt}").as_bytes()));
    let given = sign.trim().to_ascii_uppercase();
    // Constant-time comparison: the signature is a secret's fingerprint.
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        tracing::warn!("快递100 push with a bad signature refused");
        return kd_answer(StatusCode::BAD_REQUEST, false, "bad signature");
    }
    let Ok(v) = serde_json::from_str::<Value>(param) else {
        return kd_answer(StatusCode::BAD_REQUEST, false, "param is not JSON");
    };
    let last = &v["lastResult"];
    let Some(carrier) = last["com"].as_str().and_then(carrier_of_kuaidi100) else {
        return kd_answer(StatusCode::BAD_REQUEST, false, "unknown carrier");
    };
    let Some(nu) = last["nu"].as_str() else {
        return kd_answer(StatusCode::BAD_REQUEST, false, "no waybill");
    };
    let zone = bazaar_domain::time::Zone::Shanghai;
    let newest_state = last["state"].as_str().unwrap_or("").to_string();
    let mut events = Vec::new();
    for (i, d) in last["data"].as_array().into_iter().flatten().enumerate() {
        let time = d["ftime"].as_str().or(d["time"].as_str()).unwrap_or("");
        let Some(at) = zone.parse_local(time) else {
            return kd_answer(StatusCode::BAD_REQUEST, false, "bad event time");
        };
        let code = match d["statusCode"].as_str().map(str::trim) {
            Some(c) if !c.is_empty() => c.to_string(),
            // Older pushes carry no code per event: the newest (first) has lastResult.state.
            _ if i == 0 => newest_state.clone(),
            _ => "0".to_string(),
        };
        events.push(bazaar_store::parcels::CarrierEvent {
            code,
            at,
            note: d["context"].as_str().map(|x| x.chars().take(500).collect()),
            place: d["areaName"]
                .as_str()
                .map(|x| x.chars().take(100).collect()),
        });
    }
    let id = match s.store.parcel_id(nu, Some(carrier)).await {
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
    pub carrier: String,
    /// Waybill number.
    pub waybill: String,
    /// The events (codes as 快递100's: 0 在途, 1 揽收, 3 签收, 501 投柜或驿站, …).
    #[serde(default)]
    pub events: Vec<bazaar_store::parcels::CarrierEvent>,
}

#[utoipa::path(post, path = "/api/v1/tracking/events", tag = "logistics", security(("bearer" = [])),
    request_body = CarrierEventsBody,
    responses((status = 200, description = "How many events were new and the parcel's state", body = Object),
        (status = 400, description = "Unknown carrier or waybill, or a bad event time", body = ErrorBody),
        (status = 403, description = "Operators and admins only", body = ErrorBody)))]
/// `POST /api/v1/tracking/events`: a carrier's events as plain JSON (a batch feed; operators).
pub async fn carrier_events(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<CarrierEventsBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.require()?.clone();
    if !matches!(actor.role, Role::Admin | Role::Operator) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden"));
    }
    let b = body(&caller, b)?;
    if bazaar_domain::logistics::carrier(&b.carrier).is_none() {
        return Err(ApiError::field("carrier", "unknown_choice"));
    }
    let now = bazaar_domain::time::now_ms();
    if b.events.len() > 1000
        || b.events
            .iter()
            .any(|e| e.at > now + 3_600_000 || e.code.trim().is_empty() || e.code.len() > 10)
    {
        return Err(ApiError::field("events", "out_of_range"));
    }
    let id = s.store.parcel_id(&b.waybill, Some(&b.carrier)).await?;
    let new = s.store.record_carrier_events(id, &b.events).await?;
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
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found"))?;
    Ok(Json(s.store.order_parcels(&actor, id).await?))
}
