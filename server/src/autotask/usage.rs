//! What Taskbridge spends of Autotask, for operators (`/metrics`): every HTTP call the
//! client makes, counted by entity, method and outcome and by the feature that made it,
//! with its latency, and the share of each partner's hourly budget Autotask last reported
//! (ThresholdInformation; the budget is shared by every integration of the partner's
//! Autotask).
//!
//! The feature is a task-local set where work starts ([`for_feature`]): the background
//! workers and jobs, and each console request by the server function it calls. Labels
//! stay bounded: entities and features are fixed lists, partners are the tenants.

use super::error::AutotaskError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;

/// The part of Taskbridge a call was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// Company discovery and import.
    Discovery,
    /// The Customer Map (companies, contracts).
    Map,
    /// Billing previews, pushes, undos.
    Billing,
    /// Tickets and notes from backup events, picklists, test tickets.
    Tickets,
    /// The customer and contract sync, its webhooks.
    Sync,
    /// Contacts and backup users.
    Contacts,
    /// The connection (tests, zone).
    Setup,
    /// Anything not tagged.
    Other,
}

impl Feature {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Discovery => "discovery",
            Feature::Map => "map",
            Feature::Billing => "billing",
            Feature::Tickets => "tickets",
            Feature::Sync => "sync",
            Feature::Contacts => "contacts",
            Feature::Setup => "setup",
            Feature::Other => "other",
        }
    }

    /// The feature of a console server function, read off its name (`apply_push`,
    /// `get_contracts`…); Other for the rest.
    pub fn of_endpoint(name: &str) -> Feature {
        let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
        if has(&["push", "billing", "service"]) {
            Feature::Billing
        } else if has(&["map", "contract", "find_company"]) {
            Feature::Map
        } else if has(&["ticket", "picklist", "rule", "notification"]) {
            Feature::Tickets
        } else if has(&["sync", "instant", "client"]) {
            Feature::Sync
        } else if has(&["contact", "backup_user"]) {
            Feature::Contacts
        } else if has(&["compan", "discover", "import"]) {
            Feature::Discovery
        } else if has(&["autotask", "connection"]) {
            Feature::Setup
        } else {
            Feature::Other
        }
    }
}

tokio::task_local! {
    static FEATURE: Feature;
}

/// Runs `work` with its Autotask calls counted for `feature`.
pub async fn for_feature<F: Future>(feature: Feature, work: F) -> F::Output {
    FEATURE.scope(feature, work).await
}

/// The feature of the running task.
pub fn current() -> Feature {
    FEATURE.try_with(|f| *f).unwrap_or(Feature::Other)
}

/// How a call ended, as a label: ok, 4xx, 429 (thread limit or hourly threshold), 5xx
/// (or unreachable), timeout, malformed, refused (a destination configuration forbids).
pub fn outcome(result: &Result<String, AutotaskError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AutotaskError::Throttled { .. }) => "429",
        Err(AutotaskError::Timeout(_)) => "timeout",
        Err(AutotaskError::Unavailable(_)) => "5xx",
        Err(AutotaskError::Malformed(_) | AutotaskError::Protocol(_)) => "malformed",
        Err(AutotaskError::Refused(_)) => "refused",
        Err(_) => "4xx",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    entity: String,
    method: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeatureLabels {
    feature: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartnerLabels {
    partner: String,
}

/// The process's Autotask usage metrics.
struct Usage {
    calls: Family<CallLabels, Counter>,
    by_feature: Family<FeatureLabels, Counter>,
    seconds: Family<FeatureLabels, Histogram>,
    budget: Family<PartnerLabels, Gauge<f64, AtomicU64>>,
}

static USAGE: LazyLock<Usage> = LazyLock::new(|| Usage {
    calls: Family::default(),
    by_feature: Family::default(),
    seconds: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 2.0, 12))),
    budget: Family::default(),
});

/// Counts one HTTP call to Autotask (each retry is a call).
pub fn record(entity: &str, method: &str, outcome: &'static str, seconds: f64) {
    let feature = current().as_str().to_string();
    USAGE.calls.get_or_create(&CallLabels { entity: entity.to_string(), method: method.to_string(), outcome: outcome.to_string() }).inc();
    let labels = FeatureLabels { feature, outcome: outcome.to_string() };
    USAGE.by_feature.get_or_create(&labels).inc();
    USAGE.seconds.get_or_create(&labels).observe(seconds);
}

/// Records the share of a partner's hourly budget Autotask reported as used (0 to 1).
pub fn budget_used(partner_id: Option<i64>, share: f64) {
    if let Some(p) = partner_id {
        USAGE.budget.get_or_create(&PartnerLabels { partner: p.to_string() }).set(share);
    }
}

/// Adds the usage metrics to a registry (the families are shared, so every registry
/// shows the same process-wide counts).
pub fn register(registry: &mut Registry) {
    registry.register("autotask_calls", "HTTP calls to Autotask by entity, method and outcome", USAGE.calls.clone());
    registry.register("autotask_feature_calls", "HTTP calls to Autotask by the feature that made them, and outcome", USAGE.by_feature.clone());
    registry.register("autotask_call_duration_seconds", "Time Autotask took to answer, by feature and outcome", USAGE.seconds.clone());
    registry.register(
        "autotask_budget_used_ratio",
        "Share of the partner's hourly Autotask request budget used, as last reported",
        USAGE.budget.clone(),
    );
}

/// Middleware: a console request's Autotask calls count for the feature of the server
/// function it calls (`/rpc/apply_push` → billing); webhook deliveries for the sync.
pub async fn tag_requests(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let path = req.uri().path();
    let feature = if let Some(name) = path.strip_prefix("/rpc/") {
        Feature::of_endpoint(name)
    } else if path.starts_with("/hooks/") {
        Feature::Sync
    } else {
        Feature::Other
    };
    for_feature(feature, next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_map_to_their_feature() {
        assert_eq!(Feature::of_endpoint("apply_push"), Feature::Billing);
        assert_eq!(Feature::of_endpoint("get_contracts"), Feature::Map);
        assert_eq!(Feature::of_endpoint("send_test_ticket"), Feature::Tickets);
        assert_eq!(Feature::of_endpoint("start_discovery"), Feature::Discovery);
        assert_eq!(Feature::of_endpoint("start_contact_fetch"), Feature::Contacts);
        assert_eq!(Feature::of_endpoint("test_autotask_connection"), Feature::Setup);
        assert_eq!(Feature::of_endpoint("list_users"), Feature::Other);
    }

    #[tokio::test]
    async fn the_feature_follows_the_task() {
        assert_eq!(current(), Feature::Other);
        assert_eq!(for_feature(Feature::Sync, async { current() }).await, Feature::Sync);
    }
}
