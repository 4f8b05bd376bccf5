//! Prometheus metrics at `/metrics`: request counts and latencies by route and status;
//! the work Taskbridge does (runs by kind and outcome with their durations, ticket
//! actions); Autotask calls and budgets (`autotask/usage.rs`); and, read from the database
//! at each scrape, the events waiting for dispatch and whose last push or sync failed.
//! `ops/` holds a Grafana dashboard and Prometheus alert rules over them.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock};
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
    pending: Family<PartnerLabels, Gauge>,
    oldest_pending: Family<PartnerLabels, Gauge<f64, AtomicU64>>,
    last_failed: Family<PartnerKindLabels, Gauge>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartnerLabels {
    partner: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartnerKindLabels {
    partner: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    kind: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

/// Work counted wherever it happens in the process (the labels are fixed lists).
struct Work {
    runs: Family<RunLabels, Counter>,
    run_seconds: Family<KindLabels, Histogram>,
    tickets: Family<ActionLabels, Counter>,
}

static WORK: LazyLock<Work> = LazyLock::new(|| Work {
    runs: Family::default(),
    run_seconds: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.05, 2.0, 14))),
    tickets: Family::default(),
});

/// Counts a run that ended (imports, pushes, sync rounds, tests…) and its duration.
pub fn run_finished(kind: &str, outcome: &str, seconds: f64) {
    WORK.runs.get_or_create(&RunLabels { kind: kind.to_string(), outcome: outcome.to_string() }).inc();
    WORK.run_seconds.get_or_create(&KindLabels { kind: kind.to_string() }).observe(seconds);
}

/// Counts a ticket action: opened, noted, completed, recovery_noted (left open) or not_sent.
pub fn ticket(action: &'static str) {
    WORK.tickets.get_or_create(&ActionLabels { action: action.to_string() }).inc();
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
        registry.register("runs", "Runs that ended, by kind and outcome", WORK.runs.clone());
        registry.register("run_duration_seconds", "How long runs took, by kind", WORK.run_seconds.clone());
        registry.register("tickets", "Ticket actions: opened, noted, completed, recovery_noted, not_sent", WORK.tickets.clone());
        crate::autotask::usage::register(&mut registry);
        let (pending, oldest_pending, last_failed) = (Family::default(), Family::default(), Family::default());
        registry.register("events_pending", "Backup events waiting for dispatch, per partner", pending.clone());
        registry.register("events_oldest_pending_age_seconds", "Age of the oldest event waiting for dispatch, per partner", oldest_pending.clone());
        registry.register("last_run_failed", "1 when the partner's latest push or sync round failed", last_failed.clone());
        Self { registry, requests, latency, sign_in_failures, pending, oldest_pending, last_failed }
    }
}

impl Metrics {
    /// Reads what the database knows (the dispatch backlog, the latest pushes and sync
    /// rounds) into the gauges; a partner with nothing waiting has no series.
    pub async fn read_database(&self, db: &crate::db::Db) -> Result<(), sqlx::Error> {
        let backlog = crate::db::events::backlog(db).await?;
        let failures = crate::db::history::latest_failures(db).await?;
        let now = crate::db::now_ms();
        self.pending.clear();
        self.oldest_pending.clear();
        for (partner, count, oldest) in backlog {
            let labels = PartnerLabels { partner: partner.to_string() };
            self.pending.get_or_create(&labels).set(count);
            self.oldest_pending.get_or_create(&labels).set((now - oldest).max(0) as f64 / 1000.0);
        }
        self.last_failed.clear();
        for (partner, kind, failed) in failures {
            self.last_failed.get_or_create(&PartnerKindLabels { partner: partner.to_string(), kind }).set(i64::from(failed));
        }
        Ok(())
    }

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
    if let Err(e) = state.metrics.read_database(&state.db).await {
        // The process's own counts are still worth scraping.
        tracing::warn!(error = %e, "metrics could not read the dispatch backlog or the latest runs");
    }
    ([(http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `taskbridge_…` metric the alert rules and the dashboard query is one this
    /// process exports (by its family name: `_total`, `_bucket`, `_count`, `_sum` are the
    /// exposition's suffixes).
    #[test]
    fn the_ops_files_name_only_metrics_that_exist() {
        let exported = Metrics::default().render();
        let ops = [include_str!("../../ops/alerts.yml"), include_str!("../../ops/grafana-dashboard.json")];
        let mut checked = 0;
        for text in ops {
            for (i, _) in text.match_indices("taskbridge_") {
                let name: String = text[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name.len() <= "taskbridge_".len() {
                    continue;
                }
                let family =
                    ["_total", "_bucket", "_count", "_sum"].iter().fold(name.clone(), |n, s| n.strip_suffix(s).map_or(n.clone(), str::to_string));
                assert!(exported.contains(&format!("# TYPE {family} ")), "{name} is not exported:\n{exported}");
                checked += 1;
            }
        }
        assert!(checked >= 15, "{checked}");
        serde_json::from_str::<serde_json::Value>(ops[1]).expect("the dashboard is JSON");
    }
}
