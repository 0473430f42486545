//! API errors: `{"error": {"code", "message", "field"}}` with the right HTTP status. The code
//! is stable snake_case; the message is in the caller's language (see [`Lang`]) and, for a
//! bad field, names the field and the reason.

use crate::app::i18n::Lang;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_store::StoreError;
use serde_json::json;

/// The JSON body of every error (documentation of the shape [`ApiError`] answers).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `invalid_input`, `forbidden`, `not_found`.
    pub code: String,
    /// Message in the caller's language; for bad input it names the field and the reason.
    pub message: String,
    /// The (first) bad field, when there is one.
    pub field: Option<String>,
    /// Every bad field (`field`, `reason`) or every bad CSV row (`line`, `column`, `reason`).
    #[schema(value_type = Option<Vec<Object>>)]
    pub details: Option<serde_json::Value>,
}

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (its message is `error-<code>` in the catalogues).
    pub code: ErrorCode,
    /// Field concerned, when there is one.
    pub field: Option<String>,
    /// Why the field was refused (a reason code), when there is one.
    pub reason: Option<String>,
    /// Extra details (every bad field or row).
    pub details: Option<serde_json::Value>,
    /// Language of the message.
    pub lang: Lang,
    /// Seconds the caller should wait before trying again (`Retry-After`).
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// The error `code`, with its own status.
    pub fn of(code: ErrorCode) -> Self {
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, code)
    }

    /// The error `code` with another status than its own (a refused field is 400 or 422).
    pub fn new(status: StatusCode, code: ErrorCode) -> Self {
        ApiError {
            status,
            code,
            field: None,
            reason: None,
            details: None,
            lang: crate::app::i18n::current(),
            retry_after: None,
        }
    }

    /// A bad field: 400 when it breaks its documented shape, 422 when it has its shape but
    /// what it says cannot be done (see [`refusal_status`]).
    pub fn field(field: &str, reason: &str) -> Self {
        ApiError {
            field: Some(field.into()),
            reason: Some(reason.into()),
            details: Some(json!([{"field": field, "reason": reason}])),
            ..ApiError::new(refusal_status([reason]), ErrorCode::InvalidInput)
        }
    }

    /// The same error with its message in `lang`.
    pub fn in_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// The message in the error's language: for a bad field, the field's name and the reason
    /// ("价格：格式不正确"), else the message of the code.
    pub fn message(&self) -> String {
        match (&self.field, &self.reason) {
            (Some(f), Some(r)) => field_message(self.lang, f, r),
            _ => message(self.code, self.lang),
        }
    }
}

/// The message of an error code in `lang`.
pub fn message(code: ErrorCode, lang: Lang) -> String {
    let key = format!("error-{}", code.code());
    if Lang::ZhCn.has(&key) {
        lang.t(&key)
    } else {
        lang.t("error-internal")
    }
}

/// The message of an error code kept as text (a job's result), in `lang`; an unknown code
/// reads as an internal error.
pub fn code_message(lang: Lang, code: &str) -> String {
    let key = format!("error-{code}");
    if Lang::ZhCn.has(&key) {
        lang.t(&key)
    } else {
        lang.t("error-internal")
    }
}

/// The translated name of a field: `skus[0].price_fen` is named by `price_fen`; a field
/// without a translation keeps its own name.
pub fn field_label(lang: Lang, field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    // `items[2]` is named like `items`.
    let last = last.split('[').next().unwrap_or(last);
    let key = format!("field-{last}");
    if Lang::ZhCn.has(&key) {
        lang.t(&key)
    } else {
        field.to_string()
    }
}

/// "<field>: <reason>" in `lang`.
pub fn field_message(lang: Lang, field: &str, reason: &str) -> String {
    let rkey = format!("reason-{reason}");
    let reason = if Lang::ZhCn.has(&rkey) {
        lang.t(&rkey)
    } else {
        reason.to_string()
    };
    lang.ta(
        "error-field",
        &[
            ("field", field_label(lang, field).into()),
            ("reason", reason.into()),
        ],
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": {
                "code": self.code.code(),
                "message": self.message(),
                "field": self.field,
            }
        });
        if let Some(d) = self.details {
            body["error"]["details"] = d;
        }
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.max(1).to_string())
        {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        res
    }
}

/// The status of refused fields: 400 when any breaks its documented shape (missing, too
/// long, malformed, not one of the choices, out of range) or none is named; 422 when every
/// field has its shape but what it says cannot be done (names something that does not
/// exist or is taken, contradicts another field, is out of the caller's scope or place).
pub fn refusal_status<'a>(reasons: impl IntoIterator<Item = &'a str>) -> StatusCode {
    let mut any = false;
    for r in reasons {
        any = true;
        if matches!(
            r,
            "required" | "too_long" | "invalid_format" | "unknown_choice" | "out_of_range"
        ) {
            return StatusCode::BAD_REQUEST;
        }
    }
    if any {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::BAD_REQUEST
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::of(ErrorCode::NotFound),
            StoreError::Forbidden => ApiError::of(ErrorCode::Forbidden),
            StoreError::Invalid(errs) => {
                let field = errs.first().map(|e| e.field.clone());
                // 400 when a field breaks its documented shape; 422 when every field has its
                // shape but what it says cannot be done (names something that does not exist,
                // is taken, contradicts another field, is out of the caller's scope).
                let status = refusal_status(errs.iter().map(|e| e.reason.code()));
                ApiError {
                    field,
                    reason: errs.first().map(|e| e.reason.code().to_string()),
                    details: Some(json!(
                        errs.iter()
                            .map(|e| json!({"field": e.field, "reason": e.reason.code()}))
                            .collect::<Vec<_>>()
                    )),
                    ..ApiError::new(status, ErrorCode::InvalidInput)
                }
            }
            StoreError::Csv(rows) => ApiError {
                details: Some(json!(rows)),
                ..ApiError::of(ErrorCode::InvalidCsv)
            },
            StoreError::InvalidTransition { .. } => {
                ApiError::of(ErrorCode::InvalidTransition)
            }
            StoreError::Rule(code) => ApiError::of(code),
            StoreError::OutOfStock(skus) => ApiError {
                details: Some(json!(
                    skus.iter()
                        .map(|id| json!({"sku_id": id}))
                        .collect::<Vec<_>>()
                )),
                ..ApiError::of(ErrorCode::OutOfStock)
            },
            StoreError::PriceChanged(changes) => ApiError {
                details: Some(json!(
                    changes
                        .iter()
                        .map(|(id, seen, now)| json!({"sku_id": id, "expected_price_fen": seen, "price_fen": now}))
                        .collect::<Vec<_>>()
                )),
                ..ApiError::of(ErrorCode::PriceChanged)
            },
            StoreError::Throttled(secs) => ApiError {
                retry_after: Some(u32::try_from(secs).unwrap_or(u32::MAX)),
                ..ApiError::of(ErrorCode::TooManyAttempts)
            },
            StoreError::BadCredentials => {
                ApiError::of(ErrorCode::BadCredentials)
            }
            StoreError::Config(_) | StoreError::Db(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::of(ErrorCode::Internal)
            }
        }
    }
}

impl ApiError {
    /// The error for a JSON body axum could not take: 415 without a JSON content type, 413
    /// over the body limit, 400 `invalid_json` for bad syntax, and 400 `invalid_input` naming
    /// the field (and why) when the JSON has the wrong shape.
    pub fn from_json_rejection(e: &JsonRejection) -> ApiError {
        tracing::debug!(error = %e, "bad JSON body");
        match e {
            JsonRejection::MissingJsonContentType(_) => ApiError::of(ErrorCode::JsonContentType),
            JsonRejection::JsonDataError(d) => data_error(&d.body_text()),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::of(ErrorCode::PayloadTooLarge)
            }
            _ => ApiError::of(ErrorCode::InvalidJson),
        }
    }

    /// The JSON error standing for a response axum (or a layer) answered by itself: a
    /// rejection, the 405 of a known path, a 413 over the body limit, a timeout.
    pub fn for_status(status: StatusCode) -> ApiError {
        let code = match status {
            StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidInput,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyAttempts,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        };
        ApiError::new(status, code)
    }
}

/// A JSON body of the wrong shape, from serde's message ("items[0].quantity: invalid type:
/// …", "missing field `name`"): 400 naming the field and the reason.
fn data_error(text: &str) -> ApiError {
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    let (path, msg) = match text.split_once(": ") {
        Some((p, m)) if !p.is_empty() && !p.contains(' ') => (p, m),
        _ => ("", text),
    };
    let missing = msg
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next());
    let field = match (path, missing) {
        ("", Some(m)) => m.to_string(),
        (p, Some(m)) => format!("{p}.{m}"),
        (p, None) => p.to_string(),
    };
    let reason = if missing.is_some() {
        "required"
    } else if msg.starts_with("unknown variant") {
        "unknown_choice"
    } else {
        "invalid_format"
    };
    if field.is_empty() {
        ApiError::of(ErrorCode::InvalidJson)
    } else {
        ApiError::field(&field, reason)
    }
}

/// Middleware: every error answered under `/api/` is the JSON error. Errors the handlers
/// raise already are; this turns the few answered outside them (a path axum could not
/// decode, a method the path does not take, a body over the limit, a timeout) into
/// [`ApiError`]s of the same status, keeping their headers (`Allow`, `Retry-After`).
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (mut parts, _) = res.into_parts();
    let fresh = ApiError::for_status(status).into_response();
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (k, v) in fresh_parts.headers.iter() {
        parts.headers.insert(k, v.clone());
    }
    Response::from_parts(parts, body)
}
