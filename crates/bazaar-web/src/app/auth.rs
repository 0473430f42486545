//! Who is calling: a bearer token (`Authorization: Bearer …`) for the API.

use crate::AppState;
use crate::app::error::ApiError;
use crate::app::i18n::Lang;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use bazaar_domain::ErrorCode;
use bazaar_domain::people::Actor;
use bazaar_store::people::auth::TokenKind;

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
        self.actor
            .as_ref()
            .ok_or_else(|| ApiError::of(ErrorCode::Unauthenticated).in_lang(self.lang))
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
        let bad = || ApiError::of(ErrorCode::Unauthenticated).in_lang(lang);
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

/// A proxy whose `X-Forwarded-For` is believed: one address or a network (`10.0.0.0/8`,
/// `::1`), from `--trusted-proxy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl std::str::FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not an address or a network (203.0.113.7, 10.0.0.0/8)");
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: std::net::IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl ProxyNet {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let (a, b, bits) = match (self.addr, ip) {
            (V4(a), V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
            (V6(a), V6(b)) => (u128::from(a), u128::from(b), 128),
            (V4(a), V6(b)) => match b.to_ipv4_mapped() {
                Some(b) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
                None => return false,
            },
            (V6(_), V4(_)) => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

/// The client's address: the connection's peer, or — only when the peer is a trusted proxy —
/// the nearest address in `X-Forwarded-For` that is not itself a trusted proxy (everything
/// left of it could have been written by the client).
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[ProxyNet],
) -> Option<std::net::IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or("").rsplit(',').take(16) {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(client)
}

/// The client's address, the key of the per-client login throttle: the connection's peer,
/// or what a trusted proxy forwarded (see [`client_ip`]); "unknown" when the app runs
/// without a connection (in-process tests).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let xff = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientAddr(
            client_ip(peer, xff, &state.trusted_proxies)
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let nets: Vec<ProxyNet> = ["10.0.0.0/8", "::1"]
            .iter()
            .map(|s| s.parse().expect("net"))
            .collect();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        // Not through a trusted proxy: the header is the client's own words.
        assert_eq!(
            client_ip(Some(ip("198.51.100.9")), Some("1.2.3.4"), &nets),
            Some(ip("198.51.100.9"))
        );
        // Through the proxy: the nearest untrusted hop, not what the client prepended.
        assert_eq!(
            client_ip(
                Some(ip("10.1.2.3")),
                Some("6.6.6.6, 203.0.113.7, 10.9.9.9"),
                &nets
            ),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client_ip(Some(ip("::1")), Some("203.0.113.7"), &nets),
            Some(ip("203.0.113.7"))
        );
        // A proxy that forwarded nothing is the client.
        assert_eq!(
            client_ip(Some(ip("10.1.2.3")), None, &nets),
            Some(ip("10.1.2.3"))
        );
        assert!("10.0.0.0/33".parse::<ProxyNet>().is_err());
        assert!("nonsense".parse::<ProxyNet>().is_err());
        let all: ProxyNet = "0.0.0.0/0".parse().expect("net");
        assert!(all.contains(ip("8.8.8.8")));
    }
}
