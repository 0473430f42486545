//! The people area's JSON API: sessions (sign-in tokens), the caller, accounts.

use crate::AppState;
use crate::app::api::*;
use crate::app::auth::Caller;
use crate::app::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_store::Cursor;
use bazaar_store::people::auth::TokenKind;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Login body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// Username.
    #[serde(default)]
    #[schema(required = true, pattern = "\\S")]
    pub username: String,
    /// Password.
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    pub password: String,
}

/// `POST /api/v1/sessions`: exchanges a username and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "people", request_body = LoginBody, responses((status = 201, description = "A bearer token", body = TokenResponse), (status = 400, description = "Bad input: the field and the reason", body = ErrorBody), (status = 401, description = "Wrong username or password", body = ErrorBody), (status = 429, description = "Too many attempts", body = ErrorBody)))]
pub async fn create_session(
    State(s): State<AppState>,
    client: crate::app::auth::ClientAddr,
    caller: Caller,
    h: axum::http::HeaderMap,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(&caller, b)?;
    if b.username.trim().is_empty() {
        return Err(ApiError::field("username", "required").in_lang(caller.lang));
    }
    if b.password.is_empty() {
        return Err(ApiError::field("password", "required").in_lang(caller.lang));
    }
    let (token, actor) = s
        .store
        .login(&b.username, &b.password, &client.0, TokenKind::Api)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    crate::app::i18n::Lang::remember(&h, None, &s.store, actor.user_id).await;
    tracing::info!(user = actor.username, "API token issued");
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse { token, user: actor }),
    )
        .into_response())
}

/// `DELETE /api/v1/sessions`: revokes the presented token.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "people", security(("bearer" = [])), responses((status = 204, description = "The token is revoked"), (status = 401, description = "Not signed in or bad token", body = ErrorBody)))]
pub async fn delete_session(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.require()?;
    if let Some(t) = &caller.token {
        s.store.revoke_token(t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me`.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", security(("bearer" = [])), responses((status = 200, description = "The caller", body = bazaar_domain::people::Actor), (status = 401, description = "Not signed in or bad token", body = ErrorBody)))]
pub async fn me(caller: Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(caller.require()?)))
}

/// A new API token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The bearer token (shown once; stored hashed).
    pub token: String,
    /// Who it belongs to.
    pub user: bazaar_domain::people::Actor,
}

/// A page of accounts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    /// The accounts of this page.
    pub items: Vec<bazaar_store::people::users::UserView>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "people", security(("bearer" = [])),
    request_body = bazaar_domain::people::UserInput,
    responses((status = 201, description = "The new account", body = bazaar_store::people::users::UserView),
        (status = 400, description = "Bad input: the field and the reason", body = ErrorBody),
        (status = 401, description = "Not signed in or bad token", body = ErrorBody),
        (status = 403, description = "Admins create any account; operators only agents, sellers, hosts and drivers of their region", body = ErrorBody),
        (status = 422, description = "A taken username (`duplicate`), a place or seller that does not exist (`unknown_reference`) or does not fit the role (`inconsistent`)", body = ErrorBody)))]
/// `POST /api/v1/users`: creates an account.
pub async fn create_user(
    State(s): State<AppState>,
    caller: Caller,
    b: Result<Json<bazaar_domain::people::UserInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let actor = caller.require()?.clone();
    let input = body(&caller, b)?;
    let user = s
        .store
        .create_user_checked(&actor, &input)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "people", security(("bearer" = [])),
    params(("cursor" = Option<String>, Query, pattern = "^(c[0-9a-z]{1,12})?$", description = "Cursor of the page, from `next_cursor`"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1 to 100 (default 20)")),
    responses((status = 200, description = "Accounts the caller administers", body = UserPage),
        (status = 401, description = "Not signed in or bad token", body = ErrorBody),
        (status = 403, description = "Only admins and operators", body = ErrorBody)))]
/// `GET /api/v1/users`: the accounts the caller administers.
pub async fn users(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Params,
) -> Result<Json<UserPage>, ApiError> {
    let actor = caller.require()?;
    let cursor = Cursor::parse("cursor", param(&q, "cursor"))
        .map_err(|_| ApiError::field("cursor", "invalid_format").in_lang(caller.lang))?;
    let page = s
        .store
        .users(actor, cursor, limit(&caller, &q)?)
        .await
        .map_err(|e| ApiError::from(e).in_lang(caller.lang))?;
    Ok(Json(UserPage {
        items: page.items,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}
