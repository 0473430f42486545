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
