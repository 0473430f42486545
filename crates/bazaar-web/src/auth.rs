//! Who is calling: a bearer token (`Authorization: Bearer …`) for the API.

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::Lang;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bazaar_domain::people::Actor;
use bazaar_store::auth::TokenKind;

/// The caller of a request: anonymous, or an authenticated actor.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor, when a valid token was presented.
    pub actor: Option<Actor>,
    /// The bearer token as sent (for revoking it).
    pub token: Option<String>,
    /// The caller's language (`?lang=`, else Accept-Language).
    pub lang: Lang,
}

impl Caller {
    /// The actor, or 401.
    pub fn require(&self) -> Result<&Actor, ApiError> {
        self.actor.as_ref().ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated").in_lang(self.lang)
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let lang = Lang::negotiate(&parts.headers, parts.uri.query());
        let Some(h) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller {
                actor: None,
                token: None,
                lang,
            });
        };
        let bad = || ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated").in_lang(lang);
        let token = h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(bad)?;
        let actor = state
            .store
            .actor_by_token(&token, TokenKind::Api)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(bad)?;
        Ok(Caller {
            actor: Some(actor),
            token: Some(token),
            lang,
        })
    }
}

/// The client's address, the key of the per-client login throttle. Read from the connection
/// (`serve` records it); "unknown" when the app runs without one (in-process tests).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}
