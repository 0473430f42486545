//! API errors: `{"error": {"code", "message", "field"}}` with the right HTTP status. The code
//! is stable snake_case; the message is in the caller's language (zh-CN by default, English
//! when the request prefers it).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_store::StoreError;
use serde_json::json;

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: String,
    /// Field concerned, when there is one.
    pub field: Option<String>,
    /// Extra details (every bad field or row).
    pub details: Option<serde_json::Value>,
    /// English instead of Chinese.
    pub english: bool,
}

impl ApiError {
    /// An error with a status and code.
    pub fn new(status: StatusCode, code: &str) -> Self {
        ApiError {
            status,
            code: code.into(),
            field: None,
            details: None,
            english: false,
        }
    }

    /// A bad field.
    pub fn field(field: &str, reason: &str) -> Self {
        ApiError {
            field: Some(field.into()),
            details: Some(json!([{"field": field, "reason": reason}])),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input")
        }
    }

    /// The same error in English.
    pub fn in_english(mut self, english: bool) -> Self {
        self.english = english;
        self
    }
}

/// The message of an error code, in Chinese or English.
pub fn message(code: &str, english: bool) -> &'static str {
    let (zh, en) = match code {
        "invalid_input" => (
            "输入有误，请检查标出的字段",
            "The input is invalid; check the named field",
        ),
        "invalid_json" => (
            "请求体不是有效的 JSON",
            "The request body is not valid JSON",
        ),
        "unauthenticated" => ("请先登录", "Please sign in first"),
        "bad_credentials" => ("用户名或密码错误", "Wrong username or password"),
        "too_many_attempts" => (
            "尝试次数过多，请 15 分钟后再试",
            "Too many attempts; try again in 15 minutes",
        ),
        "forbidden" => ("您没有权限执行此操作", "You may not do this"),
        "not_found" => ("未找到", "Not found"),
        "invalid_transition" => (
            "当前状态下不能执行此操作",
            "This action is not allowed in the current status",
        ),
        "seller_not_approved" => ("卖家尚未通过审核", "The seller is not approved yet"),
        "product_has_no_skus" => ("商品至少需要一个规格", "The product needs at least one SKU"),
        "invalid_csv" => (
            "CSV 文件有错误，未导入任何内容",
            "The CSV file has errors; nothing was imported",
        ),
        _ => ("服务器内部错误", "Internal server error"),
    };
    if english { en } else { zh }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": {
                "code": self.code,
                "message": message(&self.code, self.english),
                "field": self.field,
            }
        });
        if let Some(d) = self.details {
            body["error"]["details"] = d;
        }
        (self.status, Json(body)).into_response()
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
            StoreError::Throttled => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
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
