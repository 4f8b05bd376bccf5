//! `taskbridge-bench sync`: the customer and contract sync against a sandbox with per-call
//! latency. A first (full) round follows every active Customer; then 1% of the followed
//! companies and 1% of the contracts change in Autotask (through the sandbox's control
//! call, as a user's edit) and a polling round reads and applies just those. Prints the
//! calls each round made per entity against what the changes need; then the webhook
//! figures (`sync_webhooks.rs`).

use crate::session::Session;
use serde_json::json;
use std::time::{Duration, Instant};

/// Runs the benchmark and prints `name: value` lines.
pub async fn sync(companies: usize, changed_pct: f64, latency_ms: u64, database_url: Option<String>) -> anyhow::Result<()> {
    let config = sandbox::SandboxConfig {
        seed: 1,
        companies,
        contacts: companies + companies / 5,
        faults: sandbox::faults::Faults { latency_ms, ..Default::default() },
        ..sandbox::SandboxConfig::default()
    };
    let (sb, s) = Session::with_sandbox("sync", config, database_url).await?;
    s.rpc("save_sync_settings", &json!({"input": {"customers": true, "contracts": true, "every_minutes": 5}})).await?;

    // The first round: everything qualifying.
    sb.sandbox.limits.reset_stats();
    let started = Instant::now();
    let (first, _) = s.job(&s.form("sync_now", &[]).await?, Duration::from_secs(1_800)).await?;
    let first_s = started.elapsed().as_secs_f64();
    let first_calls: u64 = sb.sandbox.limits.stats().requests.values().sum();
    eprintln!("first round: {}", first["message"]);

    // 1% of the followed companies and of the contracts change in Autotask.
    let followed: Vec<i64> = sqlx::query_scalar(
        "select company_id from synced_company where partner_id = $1 and qualifies = 1 and sync_state = 'synced' order by company_id",
    )
    .bind(s.partner_id)
    .fetch_all(&s.db.pool)
    .await?;
    let contracts: Vec<i64> = sqlx::query_scalar("select contract_id from synced_contract where partner_id = $1 order by contract_id")
        .bind(s.partner_id)
        .fetch_all(&s.db.pool)
        .await?;
    let share = |n: usize| ((n as f64 * changed_pct / 100.0).ceil() as usize).max(1);
    let changed_companies: Vec<i64> = followed.iter().step_by((followed.len() / share(followed.len())).max(1)).copied().collect();
    let changed_contracts: Vec<i64> = contracts.iter().step_by((contracts.len() / share(contracts.len())).max(1)).copied().collect();
    for id in &changed_companies {
        sb.sandbox
            .control_update("Companies", json!({"id": id, "phone": format!("+1 555 010 {:04}", id % 10_000)}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    for id in &changed_contracts {
        sb.sandbox
            .control_update("Contracts", json!({"id": id, "contractName": format!("Managed Backup (renewed {id})")}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }

    // A polling round: only what changed.
    sb.sandbox.limits.reset_stats();
    let started = Instant::now();
    let (round, _) = s.job(&s.form("sync_now", &[]).await?, Duration::from_secs(600)).await?;
    let round_s = started.elapsed().as_secs_f64();
    let stats = sb.sandbox.limits.stats();
    eprintln!("polling round: {}", round["message"]);
    let calls: u64 = stats.requests.values().sum();
    for (entity, n) in &stats.requests {
        println!("poll_calls_{}: {n}", entity.to_lowercase());
    }
    // What the changes need: one page of 500 per entity read by change time, plus one.
    let need = changed_companies.len().div_ceil(500) + 1 + changed_contracts.len().div_ceil(500) + 1;

    println!("companies: {companies}");
    println!("followed: {}", followed.len());
    println!("contracts: {}", contracts.len());
    println!("first_round_s: {first_s:.3}");
    println!("first_round_calls: {first_calls}");
    println!("changed_companies: {}", changed_companies.len());
    println!("changed_contracts: {}", changed_contracts.len());
    println!("poll_round_s: {round_s:.3}");
    println!("poll_calls_per_round: {calls}");
    println!(
        "poll_calls_companies_contracts: {}",
        stats.requests.get("Companies").copied().unwrap_or(0) + stats.requests.get("Contracts").copied().unwrap_or(0)
    );
    println!("poll_calls_needed_companies_contracts: {need}");
    println!("poll_peak_concurrency: {}", stats.peak_concurrency.values().copied().max().unwrap_or(0));
    println!("poll_round_message: {}", round["message"].as_str().unwrap_or_default());
    crate::sync_webhooks::measure(&sb, &s, &followed).await?;
    s.stop().await;
    sb.stop().await;
    Ok(())
}
