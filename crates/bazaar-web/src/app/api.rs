//! The API's shared pieces: reading a JSON body and the `limit` parameter, the health check, the
//! guard that keeps numbers integral, the JSON 404.

use crate::AppState;
use crate::app::auth::Caller;
use crate::app::error::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) type Params = Query<HashMap<String, String>>;

/// The JSON body of a request, or the JSON error saying why not (see
/// [`ApiError::from_json_rejection`]) in the caller's language.
pub(crate) fn body<T>(caller: &Caller, b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::from_json_rejection(&e).in_lang(caller.lang))
}

pub(crate) fn limit(caller: &Caller, q: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    limit_param(q, 100).map_err(|e| e.in_lang(caller.lang))
}

/// The `limit` query parameter: absent, or a whole number from 1 to `max` (an empty value
/// is not a number: 400 `invalid_format`; one out of range: 400 `out_of_range`).
pub(crate) fn limit_param(q: &HashMap<String, String>, max: i64) -> Result<Option<i64>, ApiError> {
    match q.get("limit").map(|s| s.trim()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
            Ok(_) => Err(ApiError::field("limit", "out_of_range")),
            Err(_) => Err(ApiError::field("limit", "invalid_format")),
        },
    }
}

pub(crate) fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `GET /healthz`: the process lives and the database answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process lives and the database answers"), (status = 503, description = "The database does not answer")))]
pub async fn healthz(State(s): State<AppState>) -> Response {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database_unreachable"})),
            )
                .into_response()
        }
    }
}

/// Middleware: a JSON number with no fraction (`1104.0`, `1e3`) is an integer, as JSON Schema
/// says, so the handlers' integer fields take it. serde refuses floats for integers; this
/// rewrites such numbers in API JSON bodies before the extractors read them (bodies without
/// one, and bodies that are not JSON, pass unchanged; the route's own limit still applies).
pub async fn integral_numbers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Only bodies that declare a length within the default limit are read here; others go
    // to the extractors untouched (and meet the route's limit there).
    const MAX: u64 = 2 * 1024 * 1024;
    use axum::body::HttpBody;
    let h = req.headers();
    let len = h
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .or_else(|| req.body().size_hint().upper());
    let json = req.uri().path().starts_with("/api/")
        && h.get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
        && len.is_some_and(|n| n <= MAX);
    if !json {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX as usize).await else {
        return ApiError::of(ErrorCode::PayloadTooLarge).into_response();
    };
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            if integralise(&mut v) {
                serde_json::to_vec(&v).map(Into::into).unwrap_or(bytes)
            } else {
                bytes
            }
        }
        Err(_) => bytes,
    };
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Turns every float without a fraction that fits an `i64` into that integer; whether any was.
pub(crate) fn integralise(v: &mut Value) -> bool {
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                *v = Value::from(f as i64);
                true
            }
            _ => false,
        },
        // Every element is visited (no short circuit): `count`, not `any`.
        Value::Array(a) => a.iter_mut().map(integralise).filter(|c| *c).count() > 0,
        Value::Object(o) => o.values_mut().map(integralise).filter(|c| *c).count() > 0,
        _ => false,
    }
}

/// Any unknown path: a page in the reader's language for a browser (one that asks for HTML,
/// outside `/api`), the JSON error otherwise.
pub async fn not_found(h: axum::http::HeaderMap, uri: axum::http::Uri) -> Response {
    let wants_html = h
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        let lang = crate::catalog::pages::page_lang(&h, &uri);
        return crate::catalog::pages::message_page(
            lang,
            StatusCode::NOT_FOUND,
            &lang.t("page-not-found"),
        );
    }
    ApiError::of(ErrorCode::NotFound).into_response()
}

pub(crate) fn parse_id(caller: &Caller, s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::of(ErrorCode::NotFound).in_lang(caller.lang))
}
