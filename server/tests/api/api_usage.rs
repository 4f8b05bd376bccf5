//! Autotask API usage (issue 16), on both databases: every call a partner's client makes
//! is counted for its hour and the feature that made it, with 429 refusals and the budget
//! Autotask reported; instances add to the same hours; a partner sees only its own.

use crate::helpers::{both_databases, set_faults, Backend};
use crate::world::World;
use serde_json::{json, Value};
use server::workers::api_usage::try_run_once;

both_databases!(calls_are_counted_by_hour_and_feature_with_refusals_and_the_budget,);

async fn usage(w: &World, browser: &crate::helpers::Browser, hours: &str) -> Value {
    try_run_once(&w.app.state.db, &w.app.state.api_ledger).await.unwrap();
    browser.ok("api_usage", &[("hours", hours)]).await
}

fn feature<'a>(page: &'a Value, name: &str) -> Option<&'a Value> {
    page["features"].as_array().unwrap().iter().find(|f| f["feature"] == name)
}

async fn calls_are_counted_by_hour_and_feature_with_refusals_and_the_budget(backend: Backend) {
    let w = World::new(backend, "Usage", World::sandbox(21, 5)).await;
    let empty = usage(&w, &w.admin, "24").await;
    let before = empty["total"]["calls"].as_i64().unwrap();

    // A connection test (Setup) and the ticket picklists (Tickets), the second with
    // Autotask refusing some calls for the thread limit: they are retried, and counted.
    let tested = w.admin.ok("test_autotask_connection", &[]).await;
    assert_eq!(tested["ok"], true, "{tested}");
    set_faults(w.sandbox_running(), json!({"rate_429": 0.3}));
    let _ = w.admin.call("retrieve_ticket_picklists", &[]).await;
    set_faults(w.sandbox_running(), json!({}));
    let page = usage(&w, &w.admin, "24").await;
    let setup = feature(&page, "setup").unwrap_or_else(|| panic!("setup calls: {page}"));
    let tickets = feature(&page, "tickets").unwrap_or_else(|| panic!("ticket calls: {page}"));
    assert!(setup["counts"]["calls"].as_i64().unwrap() >= 1, "{page}");
    assert!(tickets["counts"]["throttled"].as_i64().unwrap() >= 1, "the refusals are counted: {page}");
    let total = page["total"]["calls"].as_i64().unwrap();
    let by_feature: i64 = page["features"].as_array().unwrap().iter().map(|f| f["counts"]["calls"].as_i64().unwrap()).sum();
    assert_eq!(total, by_feature, "{page}");
    assert!(total > before);
    // By hour (this one, or two across an hour's turn), with the budget Autotask reported.
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|h| h["counts"]["calls"].as_i64().unwrap()).sum::<i64>(), total, "{page}");
    let read = rows.iter().find(|h| !h["budget"].is_null()).unwrap_or_else(|| panic!("a budget reading: {page}"));
    let budget = read["budget"].as_array().unwrap();
    assert!(budget[1].as_i64().unwrap() > 0 && budget[0].as_i64().unwrap() >= 1, "{page}");
    assert_eq!(page["threshold"], budget[1]);
    assert!(!page["peak"]["hour_start"].is_null(), "{page}");

    // A second flush adds to the same hour rather than replacing it (as another instance would).
    let _ = w.admin.call("test_autotask_connection", &[]).await;
    let again = usage(&w, &w.admin, "168").await;
    assert_eq!(again["hours"], 168);
    assert!(feature(&again, "setup").unwrap()["counts"]["calls"].as_i64().unwrap() > setup["counts"]["calls"].as_i64().unwrap());
    assert!(again["rows"].as_array().unwrap().len() <= 2, "{again}");

    // Another partner sees none of it.
    let other = w.app.partner("Usage other").await;
    let browser = w.app.signed_in(&other.email, &other.password).await;
    let theirs = usage(&w, &browser, "24").await;
    assert_eq!(theirs["total"]["calls"], 0, "{theirs}");
    assert!(theirs["rows"].as_array().unwrap().is_empty());
    assert_eq!(theirs["threshold"], Value::Null);
    // Signed out, nothing.
    let anonymous = w.app.browser();
    assert!(!anonymous.call("api_usage", &[("hours", "24")]).await.status().is_success());
}
