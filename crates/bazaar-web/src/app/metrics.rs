//! Request metrics in the Prometheus text format (`GET /metrics`), and a request id on every
//! request: in the log span and in the `x-request-id` response header.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bazaar_domain::ErrorCode;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;
use tracing::Instrument;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Counters of one process (each node exposes its own; Prometheus sums them).
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m.entry(route.to_string()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        o.push_str(
            "# HELP bazaar_http_requests_total HTTP requests by method, route and status.\n",
        );
        o.push_str("# TYPE bazaar_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    o,
                    "bazaar_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        o.push_str("# HELP bazaar_http_request_duration_seconds Request latency by route.\n");
        o.push_str("# TYPE bazaar_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            for (route, h) in m.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "bazaar_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    o,
                    "bazaar_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    o,
                    "bazaar_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    o,
                    "bazaar_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        o
    }
}

/// Middleware: request id, log line, metrics.
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let id = bazaar_store::people::auth::new_secret()[..16].to_string();
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let start = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let secs = start.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    // One line per request at debug (`RUST_LOG=bazaar_web=debug`); a server error always shows.
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, ms = secs * 1000.0, "request failed");
        } else {
            tracing::debug!(status, ms = secs * 1000.0, "request done");
        }
    });
    s.metrics.record(&method, &route, status, secs);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// `GET /metrics`: for an admin's bearer token only (a scraper is given one): the counters
/// tell an outsider which routes are used and how busy the centre is.
pub async fn metrics(State(s): State<AppState>, caller: crate::app::auth::Caller) -> Response {
    match caller.require() {
        Ok(a) if a.role == bazaar_domain::people::Role::Admin => {}
        Ok(_) => {
            return crate::app::error::ApiError::of(ErrorCode::Forbidden)
                .in_lang(caller.lang)
                .into_response();
        }
        Err(e) => return e.into_response(),
    }
    let mut body = s.metrics.render();
    // How much the flash desk combined: requests per transaction is their ratio.
    let (batches, requests) = s.flash.counts();
    body.push_str(&format!(
        "# TYPE bazaar_flash_batches_total counter\nbazaar_flash_batches_total {batches}\n\
         # TYPE bazaar_flash_requests_total counter\nbazaar_flash_requests_total {requests}\n"
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
