//! The polling sync loses nothing, on both databases: a `taskbridge serve` killed with
//! SIGKILL in the middle of a round leaves the high-water marks where they were, so the
//! next round (on another instance) applies every change; an Autotask outage fails rounds
//! without moving the marks, and the first round after it catches up.

use crate::helpers::{both_databases, set_faults, Backend, Browser};
use crate::sync::{all, clients};
use crate::world::World;
use serde_json::{json, Value};
use std::time::Duration;

both_databases!(a_round_killed_mid_way_loses_no_change, an_autotask_outage_is_caught_up_from_the_marks,);

async fn round(admin: &Browser) -> Value {
    let job = admin.ok("sync_now", &[]).await;
    admin.finished_job(&job).await
}

/// A followed company with a contract: (company, contract).
async fn company_with_contract(admin: &Browser) -> (i64, i64) {
    let page = clients(admin, all()).await;
    let row = page["rows"].as_array().unwrap().iter().find(|r| r["state"] == "synced" && !r["contracts"].as_array().unwrap().is_empty()).unwrap();
    (row["company_id"].as_i64().unwrap(), row["contracts"][0]["contract_id"].as_i64().unwrap())
}

async fn applied(admin: &Browser, company: i64, contract: i64, phone: &str, contract_name: &str) {
    let page = clients(admin, all()).await;
    let row = page["rows"].as_array().unwrap().iter().find(|r| r["company_id"] == company).unwrap().clone();
    assert!(row["phones"].to_string().contains(phone), "{row}");
    let c = row["contracts"].as_array().unwrap().iter().find(|c| c["contract_id"] == contract).unwrap();
    assert_eq!(c["name"], contract_name, "{row}");
}

async fn a_round_killed_mid_way_loses_no_change(backend: Backend) {
    let w = World::new(backend, "Killed", World::sandbox(91, 12)).await;
    w.admin.ok_json("save_sync_settings", &json!({"input": {"customers": true, "contracts": true, "every_minutes": 60}})).await;
    assert_eq!(round(&w.admin).await["state"], "done");
    let (company, contract) = company_with_contract(&w.admin).await;
    w.edit_in_autotask("Companies", json!({"id": company, "phone": "+1 512 555 0131"})).await;
    w.edit_in_autotask("Contracts", json!({"id": contract, "contractName": "Renewed while a round died"})).await;

    // Another instance (a real process) starts the due round, slowly; it is killed mid-way.
    let db = &w.app.state.db.pool;
    sqlx::query("update sync_settings set next_round_at = null").execute(db).await.unwrap();
    set_faults(w.sandbox_running(), json!({"latency_ms": 1_500}));
    let (mut child, _) = w.app.spawn_serve().await;
    let running = || async {
        let (n,): (i64,) = sqlx::query_as("select count(*) from job where kind = 'sync' and state = 'running'").fetch_one(db).await.unwrap();
        n
    };
    for _ in 0..1_000 {
        if running().await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(running().await, 1, "the other instance started the round");
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap(); // SIGKILL, mid-round
    child.wait().unwrap();
    set_faults(w.sandbox_running(), json!({}));
    // Its job stops blocking once its heartbeat is stale (30 s; aged here rather than waited for).
    sqlx::query("update job set heartbeat_at = heartbeat_at - 60000 where state = 'running'").execute(db).await.unwrap();
    let done = round(&w.admin).await;
    assert_eq!(done["state"], "done", "{done}");
    applied(&w.admin, company, contract, "555 0131", "Renewed while a round died").await;
    // The killed round is in the History as a failed run that says why.
    let runs = w.admin.ok_json("list_runs", &json!({"query": {"kind": "sync", "outcome": "failed"}})).await;
    let killed = &runs["rows"][0];
    assert!(killed["summary"].as_str().is_some_and(|s| s.contains("Interrupted")), "{runs}");
}

async fn an_autotask_outage_is_caught_up_from_the_marks(backend: Backend) {
    let w = World::new(backend, "Outage", World::sandbox(92, 12)).await;
    w.admin.ok_json("save_sync_settings", &json!({"input": {"customers": true, "contracts": true, "every_minutes": 60}})).await;
    assert_eq!(round(&w.admin).await["state"], "done");
    let (company, contract) = company_with_contract(&w.admin).await;
    // Autotask is down: changes made meanwhile wait, and the failed rounds say why.
    set_faults(w.sandbox_running(), json!({"rate_5xx": 1.0}));
    w.edit_in_autotask("Companies", json!({"id": company, "phone": "+1 512 555 0132"})).await;
    w.edit_in_autotask("Contracts", json!({"id": contract, "contractName": "Renewed during the outage"})).await;
    for _ in 0..2 {
        let failed = round(&w.admin).await;
        assert_eq!(failed["state"], "failed", "{failed}");
    }
    let settings = w.admin.ok("get_sync_settings", &[]).await;
    assert_eq!(settings["last_outcome"], "failed", "{settings}");
    assert!(settings["last_message"].as_str().unwrap().contains("Autotask"), "{settings}");
    // Back up: the first round reads from the marks and applies both.
    set_faults(w.sandbox_running(), json!({}));
    let done = round(&w.admin).await;
    assert_eq!(done["state"], "done", "{done}");
    applied(&w.admin, company, contract, "555 0132", "Renewed during the outage").await;
}
