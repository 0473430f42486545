//! The HTTP server with its transport limits: what `axum::serve` does, plus the limits a
//! server facing the internet needs (docs/adr/0008-transport-limits.md).
//!
//! - a connection cap: past [`Limits::max_connections`] a new connection gets a plain 503
//!   and is closed, so idle sockets cannot use up the process's file descriptors and starve
//!   everyone (health checks included);
//! - a header-read timeout: a client has [`Limits::header_read`] to send a request's head,
//!   on a new connection and between requests on a kept-alive one;
//! - a body timeout (no progress for [`Limits::body_idle`]) and a request timeout
//!   ([`Limits::request`], reading the body included): a body sent a byte a second is cut
//!   off with 408;
//! - the security headers of every response ([`security_headers`], set by [`crate::router`]).

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// The server's transport limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time to send a request's head (and the wait for the next request on a kept-alive
    /// connection).
    pub header_read: Duration,
    /// Longest pause while sending a body.
    pub body_idle: Duration,
    /// Longest time from a request's head to its answer, reading the body included (a route
    /// plan takes up to a minute).
    pub request: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(10),
            request: Duration::from_secs(120),
        }
    }
}

/// The Content-Security-Policy of every page: our own scripts only (no inline script), no
/// framing, forms post only to us.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

/// The router with the request and body timeouts.
pub fn harden(router: Router, limits: Limits) -> Router {
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.body_idle))
}

/// `router` with the security headers on every response (unless a handler set its own).
pub fn with_security_headers(router: Router) -> Router {
    let mut r = router;
    for (name, value) in security_headers() {
        r = r.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    r
}

/// The headers every response carries.
pub fn security_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
        ),
    ]
}

/// Serves `router` (already [`harden`]ed) on `listener` until `shutdown` completes, then
/// lets open requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let refusals = Arc::new(tokio::sync::Semaphore::new(64));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors or similar: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // At most 64 refusals are written at once; past that the connection is closed
            // without an answer, so a flood costs no more than the cap.
            if let Ok(r) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(r);
                });
            }
            continue;
        };
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let svc = router.map_request(move |req: Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .max_buf_size(64 * 1024);
            let conn =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            let mut conn = std::pin::pin!(conn);
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    // Open requests finish (up to the request timeout).
    let deadline = tokio::time::Instant::now() + limits.request;
    while slots.available_permits() < limits.max_connections
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Answers a connection past the cap with a plain 503 and closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        stream.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 1\r\n\r\n",
        ),
    )
    .await;
}
