//! WeChat bindings over the API: the centre's WeChat integration (signed in as an operator)
//! tells Bazaar which follower of its service account is which phone or account, so that
//! pickup codes and reminders reach them by WeChat before SMS.

use crate::AppState;
use crate::app::api::body;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use bazaar_store::logistics::wechat::WechatBinding;
use serde::Deserialize;

/// Body of `PUT /api/v1/wechat/bindings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BindingBody {
    /// The follower's openid in the centre's service account.
    #[serde(default)]
    #[schema(required = true, pattern = "^\\s*[A-Za-z0-9_-]{6,64}\\s*$")]
    pub openid: String,
    /// The mobile number they confirmed: eleven digits from 1 (spaces and dashes ignored).
    #[schema(pattern = "^[ -]*1(?:[ -]*[0-9]){10}[ -]*$|^[ -]*$")]
    pub phone: Option<String>,
    /// The Bazaar account they signed in with.
    pub user_id: Option<i64>,
}

fn not_found() -> ApiError {
    ApiError::of(ErrorCode::NotFound)
}

#[utoipa::path(put, path = "/api/v1/wechat/bindings", tag = "logistics", security(("bearer" = [])),
    request_body = BindingBody,
    responses((status = 200, description = "The binding; any earlier one of this openid, phone or account is replaced", body = WechatBinding),
        (status = 400, description = "A malformed openid or phone", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "Neither a phone nor an account (`phone`, `needed`), or an account that does not exist (`user_id`, `unknown_reference`)", body = ErrorBody)))]
/// `PUT /api/v1/wechat/bindings`: binds a follower to a phone and/or an account.
pub async fn bind(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<BindingBody>, JsonRejection>,
) -> Result<Json<WechatBinding>, ApiError> {
    let actor = caller.require()?.clone();
    let b = body(&caller, b)?;
    Ok(Json(
        s.store
            .bind_wechat(&actor, &b.openid, b.phone.as_deref(), b.user_id)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/wechat/bindings/{openid}", tag = "logistics", security(("bearer" = [])),
    params(("openid" = String, Path, pattern = "^[A-Za-z0-9_-]{6,64}$", description = "The follower's openid")),
    responses((status = 200, description = "The binding", body = WechatBinding),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 404, description = "Not bound", body = ErrorBody)))]
/// `GET /api/v1/wechat/bindings/{openid}`.
pub async fn get_binding(
    State(s): State<AppState>,
    caller: Caller,
    Path(openid): Path<String>,
) -> Result<Json<WechatBinding>, ApiError> {
    let actor = caller.require()?.clone();
    s.store
        .wechat_binding(&actor, &openid)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

#[utoipa::path(delete, path = "/api/v1/wechat/bindings/{openid}", tag = "logistics", security(("bearer" = [])),
    params(("openid" = String, Path, pattern = "^[A-Za-z0-9_-]{6,64}$", description = "The follower's openid")),
    responses((status = 204, description = "Unbound (they unfollowed or asked to)"),
        (status = 403, description = "Operators and admins only", body = ErrorBody),
        (status = 404, description = "Not bound", body = ErrorBody)))]
/// `DELETE /api/v1/wechat/bindings/{openid}`.
pub async fn unbind(
    State(s): State<AppState>,
    caller: Caller,
    Path(openid): Path<String>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    if s.store.unbind_wechat(&actor, &openid).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found())
    }
}
