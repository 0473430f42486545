//! API errors: `{"error": {"code", "message", "field"}}` with the right HTTP status. The code
//! is stable snake_case; the message is in the caller's language (see [`Lang`]) and, for a
//! bad field, names the field and the reason.

use crate::i18n::Lang;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
    /// Stable code.
    pub code: String,
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
    /// An error with a status and code.
    pub fn new(status: StatusCode, code: &str) -> Self {
        ApiError {
            status,
            code: code.into(),
            field: None,
            reason: None,
            details: None,
            lang: crate::i18n::current(),
            retry_after: None,
        }
    }

    /// A bad field.
    pub fn field(field: &str, reason: &str) -> Self {
        ApiError {
            field: Some(field.into()),
            reason: Some(reason.into()),
            details: Some(json!([{"field": field, "reason": reason}])),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input")
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
            _ => message(&self.code, self.lang),
        }
    }
}

/// The message of an error code in `lang`.
pub fn message(code: &str, lang: Lang) -> String {
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
                "code": self.code,
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

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found"),
            StoreError::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden"),
            StoreError::Invalid(errs) => {
                let field = errs.first().map(|e| e.field.clone());
                ApiError {
                    field,
                    reason: errs.first().map(|e| e.reason.code().to_string()),
                    details: Some(json!(
                        errs.iter()
                            .map(|e| json!({"field": e.field, "reason": e.reason.code()}))
                            .collect::<Vec<_>>()
                    )),
                    ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input")
                }
            }
            StoreError::Csv(rows) => ApiError {
                details: Some(json!(rows)),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv")
            },
            StoreError::InvalidTransition { .. } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition")
            }
            StoreError::Rule(code) => ApiError::new(StatusCode::CONFLICT, code),
            StoreError::OutOfStock(skus) => ApiError {
                details: Some(json!(
                    skus.iter()
                        .map(|id| json!({"sku_id": id}))
                        .collect::<Vec<_>>()
                )),
                ..ApiError::new(StatusCode::CONFLICT, "out_of_stock")
            },
            StoreError::PriceChanged(changes) => ApiError {
                details: Some(json!(
                    changes
                        .iter()
                        .map(|(id, seen, now)| json!({"sku_id": id, "expected_price_fen": seen, "price_fen": now}))
                        .collect::<Vec<_>>()
                )),
                ..ApiError::new(StatusCode::CONFLICT, "price_changed")
            },
            StoreError::Throttled(secs) => ApiError {
                retry_after: Some(u32::try_from(secs).unwrap_or(u32::MAX)),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            },
            StoreError::BadCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials")
            }
            StoreError::Config(_) | StoreError::Db(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}
