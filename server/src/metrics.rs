//! Prometheus metrics at `/metrics`: request counts and latencies by route and status.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// Labels of the request metrics. `route` is the matched route pattern, never the raw
/// path, so cardinality stays bounded.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Route pattern, or "unmatched".
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// The registry and the metrics in it.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    /// Failed sign-ins (wrong password or throttled).
    pub sign_in_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("taskbridge");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 16)));
        let sign_in_failures = Counter::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register("http_request_duration_seconds", "Time to produce the response head", latency.clone());
        registry.register("sign_in_failures", "Refused sign-in attempts", sign_in_failures.clone());
        Self { registry, requests, latency, sign_in_failures }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only the standard methods get a series of their own: any other word a client sends
    // would otherwise create a new one.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_string(),
        _ => "other".to_string(),
    };
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| {
        // Static files and the 404 fallback have no matched path; group them.
        if req.uri().path().starts_with("/pkg/") {
            "/pkg/*".into()
        } else {
            "unmatched".into()
        }
    });
    let response = next.run(req).await;
    let labels = RequestLabels { method, route, status: response.status().as_u16() };
    metrics.requests.get_or_create(&labels).inc();
    metrics.latency.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: behind the bearer token `TASKBRIDGE_METRICS_TOKEN`; open only when the
/// operator says so (`TASKBRIDGE_METRICS_PUBLIC=true`); otherwise off.
pub async fn endpoint(State(state): State<crate::state::AppState>, headers: http::HeaderMap) -> Response {
    if state.web.metrics_token.is_none() && !state.web.metrics_public {
        return (
            http::StatusCode::FORBIDDEN,
            "metrics are off: set TASKBRIDGE_METRICS_TOKEN (scrapers send it as a bearer token), or TASKBRIDGE_METRICS_PUBLIC=true on a private network",
        )
            .into_response();
    }
    if let Some(expected) = &state.web.metrics_token {
        let given = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| crate::crypto::sha256_hex(g) == crate::crypto::sha256_hex(expected));
        if !ok {
            return (http::StatusCode::UNAUTHORIZED, [(http::header::WWW_AUTHENTICATE, "Bearer")], "metrics need the configured bearer token")
                .into_response();
        }
    }
    ([(http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render()).into_response()
}
