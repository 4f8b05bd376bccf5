//! The webhook half of `taskbridge-bench sync`: instant updates switched on, then
//! - `webhook_to_applied_*`: one company at a time edited in Autotask (a person's edit,
//!   through the sandbox's control call) until its new phone is in Taskbridge's table —
//!   the sandbox's callout, Taskbridge's store, the coalescing window, the re-read and the
//!   write, at the sandbox's per-call latency;
//! - `callouts_per_s`: a storm of signed callouts posted straight at the receiver, 64 at a
//!   time (what Taskbridge accepts: verified and stored, each answered 200), then how long
//!   applying them took and how many company reads that cost against the companies named.

use crate::session::{percentile, Session};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Samples of the edit-to-applied latency.
const SAMPLES: usize = 60;
/// Callouts in the storm, and the companies they name.
const STORM: usize = 10_000;
const STORM_COMPANIES: usize = 1_000;

/// Runs the webhook measurements and prints `name: value` lines.
pub async fn measure(sb: &sandbox::RunningSandbox, s: &Session, followed: &[i64]) -> anyhow::Result<()> {
    let base = format!("{}/hooks/autotask/", s.origin);
    let status = s.form("enable_instant_updates", &[("callout_base", base.as_str())]).await?;
    let webhook_id = status["webhook"]["webhook_id"].as_i64().ok_or_else(|| anyhow::anyhow!("no webhook: {status}"))?;
    let url = status["webhook"]["url"].as_str().unwrap_or_default().to_string();

    // Edit to applied, one at a time.
    let mut took = Vec::with_capacity(SAMPLES);
    let step = (followed.len() / SAMPLES).max(1);
    for (n, id) in followed.iter().step_by(step).take(SAMPLES).enumerate() {
        let phone = format!("+1 555 020 {n:04}");
        let started = Instant::now();
        sb.sandbox.control_update("Companies", json!({"id": id, "phone": phone})).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        loop {
            let now: Option<String> = sqlx::query_scalar("select phone from synced_company where partner_id = $1 and company_id = $2")
                .bind(s.partner_id)
                .bind(id)
                .fetch_optional(&s.db.pool)
                .await?;
            if now.as_deref() == Some(phone.as_str()) {
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "company {id}'s edit was not applied within 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        took.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    took.sort_by(f64::total_cmp);

    // The storm, signed with the webhook's secret as Autotask signs.
    let (guid, secret) = {
        let tenant = sb.sandbox.read();
        let hook = tenant.get("CompanyWebhooks", webhook_id).ok_or_else(|| anyhow::anyhow!("the webhook is not in the sandbox"))?;
        let text = |f: &str| hook.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
        (text("webhookGUID"), text("secretKey"))
    };
    let named: Vec<i64> = followed.iter().copied().take(STORM_COMPANIES).collect();
    let bodies: Vec<String> = (0..STORM)
        .map(|i| {
            json!({"Action": "Update", "Guid": guid, "EntityType": "Company", "Id": named[i % named.len()], "Fields": {"Phone": "+1 555 0100"},
                   "EventTime": "2026-12-04T08:00:00Z", "SequenceNumber": 1_000_000 + i, "PersonID": sandbox::api::CONTROL_RESOURCE_ID})
            .to_string()
        })
        .collect();
    sb.sandbox.limits.reset_stats();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let answers: Vec<u16> = stream::iter(bodies)
        .map(|body| {
            let signature = sandbox::webhooks::payload::sign(&secret, &body, false);
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.post(&url)
                    .header("content-type", "application/json")
                    .header("X-Hook-Signature", signature)
                    .body(body)
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16())
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let accept_s = started.elapsed().as_secs_f64();
    let accepted = answers.iter().filter(|a| **a == 200).count();
    loop {
        let pending: i64 = sqlx::query_scalar("select count(*) from sync_callout where partner_id = $1 and applied_at is null")
            .bind(s.partner_id)
            .fetch_one(&s.db.pool)
            .await?;
        if pending == 0 {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "{pending} callouts still pending after 10 minutes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drained_s = started.elapsed().as_secs_f64();
    let stats = sb.sandbox.limits.stats();

    println!("webhook_samples: {}", took.len());
    println!("webhook_to_applied_p50_ms: {:.1}", percentile(&took, 0.5));
    println!("webhook_to_applied_p99_ms: {:.1}", percentile(&took, 0.99));
    println!("storm_callouts: {STORM}");
    println!("storm_companies: {}", named.len());
    println!("storm_accepted: {accepted}");
    println!("callouts_per_s: {:.0}", accepted as f64 / accept_s);
    println!("storm_applied_s: {drained_s:.2}");
    println!("storm_company_calls: {}", stats.requests.get("Companies").copied().unwrap_or(0));
    println!("storm_company_calls_floor: {}", named.len().div_ceil(500));
    Ok(())
}
