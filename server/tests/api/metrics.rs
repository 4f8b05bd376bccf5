//! Operator metrics (issue 16) on both databases: after a billing push through the
//! console, `/metrics` counts the Autotask calls by entity, method, outcome and feature,
//! the partner's budget as Autotask reported it, the run by kind and outcome; and, read
//! at the scrape, the events waiting for dispatch with the oldest one's age, and the
//! partners whose latest sync failed.

use crate::helpers::{both_databases, Backend, Options};
use crate::world::World;
use app::types::history::{RunKind, RunOutcome};
use sandbox::SandboxConfig;
use serde_json::json;

both_databases!(metrics_show_autotask_calls_runs_the_dispatch_backlog_and_failed_syncs,);

/// The value of the first series of `name` whose labels contain every one of `labels`.
fn series(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|want| l.contains(want)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn metrics_show_autotask_calls_runs_the_dispatch_backlog_and_failed_syncs(backend: Backend) {
    let sandbox = Some(SandboxConfig { seed: 4, companies: 5, contacts: 5, ..SandboxConfig::default() });
    let mut w = World::with_options(backend, "Metrics", sandbox, Options { metrics_public: true, ..Options::default() }).await;
    w.app.stop_dispatcher();
    let partner = format!("partner=\"{}\"", w.partner.partner_id);
    w.contracted(w.autotask(), "Mx", 2, |_| true, |i| 2 + i).await;
    w.map_server_licence().await;
    let pushed = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
    assert_eq!(pushed["applied"], 2, "{pushed}");
    // An event nobody dispatches (the dispatcher is stopped), and a sync round that failed.
    let (status, body) = w
        .api(
            "/api/v1/events",
            &json!({"id": "m-1", "customer_ref": "Mx0", "device": "FS01", "job": "Nightly", "type": "backup_failed", "severity": "error", "message": "VSS", "occurred_at": "2026-11-22T03:12:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let now = server::db::now_ms();
    let failed = server::db::history::NewRun {
        partner_id: w.partner.partner_id,
        kind: RunKind::Sync,
        started_by: "schedule",
        started_at: now - 1_000,
        finished_at: now,
        outcome: RunOutcome::Failed,
        done: 0,
        skipped: 0,
        failed: 0,
        summary: "Autotask was down",
        retry_of: None,
        log_key: "",
    };
    server::db::history::insert(&w.app.state.db, &failed, &[]).await.unwrap();

    let text = w.app.browser().get("/metrics").await.text().await.unwrap();
    let calls = |labels: &[&str]| series(&text, "taskbridge_autotask_calls_total", labels).unwrap_or(0.0);
    assert!(calls(&["entity=\"ContractServiceAdjustments\"", "method=\"POST\"", "outcome=\"ok\""]) >= 2.0, "the two adjustments:\n{text}");
    assert!(series(&text, "taskbridge_autotask_feature_calls_total", &["feature=\"billing\"", "outcome=\"ok\""]).unwrap_or(0.0) >= 2.0, "{text}");
    assert!(series(&text, "taskbridge_autotask_call_duration_seconds_count", &["feature=\"billing\""]).unwrap_or(0.0) >= 2.0, "{text}");
    let budget = series(&text, "taskbridge_autotask_budget_used_ratio", &[&partner]).unwrap_or_else(|| panic!("no budget:\n{text}"));
    assert!((0.0..=1.0).contains(&budget), "{budget}");
    assert!(series(&text, "taskbridge_runs_total", &["kind=\"push\"", "outcome=\"ok\""]).unwrap_or(0.0) >= 1.0, "{text}");
    assert_eq!(series(&text, "taskbridge_events_pending", &[&partner]), Some(1.0), "{text}");
    assert!(series(&text, "taskbridge_events_oldest_pending_age_seconds", &[&partner]).is_some_and(|age| age >= 0.0), "{text}");
    assert_eq!(series(&text, "taskbridge_last_run_failed", &[&partner, "kind=\"sync\""]), Some(1.0), "{text}");
    assert_eq!(series(&text, "taskbridge_last_run_failed", &[&partner, "kind=\"push\""]), Some(0.0), "{text}");
}
