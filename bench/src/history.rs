//! `taskbridge-bench history`: the History at scale. Seeds `lines` run lines over runs of
//! 50 partners (5 lines a run, the session's partner one run in 50), then times the
//! History's filtered pages through the real server function over HTTP, and what
//! recording one run adds to the work it records.

use crate::session::{percentile, Session};
use app::types::history::{RunKind, RunLine, RunOutcome};
use server::db::history::{insert, NewRun};
use std::time::Instant;

const PARTNERS: i64 = 50;
const LINES_PER_RUN: i64 = 5;
const CUSTOMERS: i64 = 500;

/// Seeds, then prints `runs`, `run_lines`, `seed_s`, `page_p50_ms`, `page_p95_ms`,
/// `record_20_lines_ms` and `record_2000_lines_ms`.
pub async fn history(lines: i64, database_url: Option<String>) -> anyhow::Result<()> {
    let session = Session::start("history", database_url, None).await?;
    let (db, me) = (session.db.clone(), session.partner_id);
    let seeded = Instant::now();
    let now = server::db::now_ms();
    // The other 49 partners, and the bench partner's customers (lines name them).
    let mut partners = vec![me];
    for i in 1..PARTNERS {
        let id: i64 = sqlx::query_scalar("insert into partner (name, created_at) values ($1, $2) returning partner_id")
            .bind(format!("History MSP {i} {}", server::crypto::random_token(4)))
            .bind(now)
            .fetch_one(&db.pool)
            .await?;
        partners.push(id);
    }
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let id: i64 = sqlx::query_scalar(
            "insert into customer (partner_id, name, name_key, country_code, region, source, created_at, updated_at) \
             values ($1, $2, $3, 'US', 'us', 'api', $4, $4) returning customer_id",
        )
        .bind(me)
        .bind(format!("History Customer {i:04}"))
        .bind(format!("history customer {i:04}"))
        .bind(now)
        .fetch_one(&db.pool)
        .await?;
        customers.push(id);
    }
    // Runs with explicit ids (a fresh database), in batches of one statement each.
    let runs = lines / LINES_PER_RUN;
    let day = 86_400_000;
    let first: i64 = sqlx::query_scalar("select coalesce(max(run_id), 0) + 1 from run").fetch_one(&db.pool).await?;
    let batch = 400;
    let mut tx = db.begin().await?;
    for start in (0..runs).step_by(batch) {
        let end = (start + batch as i64).min(runs);
        let mut run_values = Vec::new();
        let mut line_values = Vec::new();
        for i in start..end {
            let run_id = first + i;
            let partner = partners[(i % PARTNERS) as usize];
            let kind = RunKind::ALL[(i % RunKind::ALL.len() as i64) as usize].as_str();
            let outcome = match i % 20 {
                0 => "failed",
                1..=3 => "partial",
                _ => "ok",
            };
            let trigger = if i % 3 == 0 { "user" } else { "schedule" };
            // Spread over the last 400 days, oldest first.
            let started = now - 400 * day + (i * 400 * day) / runs.max(1);
            let summary = format!("Run {i}: 12 done, 1 skipped, 2 failed");
            let mut lines = Vec::new();
            for l in 0..LINES_PER_RUN {
                let customer = if partner == me { customers[((i + l) % CUSTOMERS) as usize].to_string() } else { "null".into() };
                let what = if l == 0 { "skipped" } else { "failed" };
                let (record, reason) = (format!("contract {}", 1000 + l), format!("Autotask answered 404: no such contract {}", i * 7 + l));
                line_values.push(format!("({run_id}, {partner}, '{what}', {customer}, 'History Customer', '{record}', '{reason}', null, '')"));
                lines.push(RunLine::failed(None, "History Customer", record, reason));
            }
            // The words a search reads, as recording a run keeps them.
            let words = server::db::history::search_text(&summary, "admin@bench.example", &lines).replace('\'', "''");
            run_values.push(format!(
                "({run_id}, {partner}, '{kind}', '{trigger}', 'admin@bench.example', {started}, {}, '{outcome}', 12, 1, 2, '{summary}', '', '{words}')",
                started + 4_000
            ));
        }
        sqlx::query(&format!(
            "insert into run (run_id, partner_id, kind, trigger_kind, started_by, started_at, finished_at, outcome, done, skipped, failed, summary, log_key, search_text) values {}",
            run_values.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "insert into run_line (run_id, partner_id, outcome, customer_id, customer_name, record, reason, record_id, record_key) values {}",
            line_values.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
        if (start / batch as i64) % 25 == 24 {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    if db.kind == server::db::DbKind::Postgres {
        sqlx::query("select setval(pg_get_serial_sequence('run', 'run_id'), (select max(run_id) from run))").execute(&db.pool).await?;
    }
    sqlx::query("analyze").execute(&db.pool).await?;
    let seed_s = seeded.elapsed().as_secs_f64();
    eprintln!("seeded {runs} runs with {} lines in {seed_s:.1} s", runs * LINES_PER_RUN);

    // The History's pages as the console asks for them, filtered every way it offers.
    let mid = first + runs / 2;
    let month_ago = app::format::iso_utc(now - 30 * day)[..10].to_string();
    let week_ago = app::format::iso_utc(now - 7 * day)[..10].to_string();
    let queries = vec![
        serde_json::json!({}),
        serde_json::json!({"before": mid}),
        serde_json::json!({"kind": "push"}),
        serde_json::json!({"outcome": "failed"}),
        serde_json::json!({"kind": "sync", "outcome": "partial", "trigger": "schedule"}),
        serde_json::json!({"customer_id": customers[7]}),
        serde_json::json!({"from": month_ago, "to": week_ago}),
        serde_json::json!({"search": "no such contract 7"}),
        serde_json::json!({"outcome": "failed", "before": mid}),
    ];
    let mut times = Vec::new();
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    for round in 0..20 {
        for (qi, q) in queries.iter().enumerate() {
            let t = Instant::now();
            let page = session.rpc("list_runs", &serde_json::json!({"query": q})).await?;
            anyhow::ensure!(page["rows"].is_array(), "list_runs answered {page}");
            if round > 0 {
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                times.push(ms);
                per_query[qi].push(ms);
            }
        }
    }
    for (q, mut t) in queries.iter().zip(per_query) {
        t.sort_by(f64::total_cmp);
        eprintln!("list_runs {q}: p50 {:.1} ms, max {:.1} ms", t[t.len() / 2], t[t.len() - 1]);
    }
    times.sort_by(f64::total_cmp);

    // Recording: a push-sized run (20 lines) and an import-sized one (2,000 lines).
    let record = |n: usize| {
        let db = db.clone();
        async move {
            let lines: Vec<RunLine> = (0..n).map(|i| RunLine::failed(None, "Customer", format!("contract {i}"), "Autotask answered 500.")).collect();
            let mut t = Vec::new();
            for _ in 0..10 {
                let run = NewRun {
                    partner_id: me,
                    kind: RunKind::Push,
                    started_by: "bench",
                    started_at: now,
                    finished_at: now,
                    outcome: RunOutcome::Partial,
                    done: 1,
                    skipped: 0,
                    failed: n as i64,
                    summary: "bench",
                    retry_of: None,
                    log_key: "",
                };
                let started = Instant::now();
                insert(&db, &run, &lines).await?;
                t.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            t.sort_by(f64::total_cmp);
            anyhow::Ok(t[t.len() / 2])
        }
    };
    let small = record(20).await?;
    let large = record(2_000).await?;
    session.stop().await;
    println!("partners: {PARTNERS}");
    println!("runs: {runs}");
    println!("run_lines: {}", runs * LINES_PER_RUN);
    println!("seed_s: {seed_s:.1}");
    println!("page_requests: {}", times.len());
    println!("page_p50_ms: {:.2}", percentile(&times, 0.50));
    println!("page_p95_ms: {:.2}", percentile(&times, 0.95));
    println!("record_20_lines_ms: {small:.2}");
    println!("record_2000_lines_ms: {large:.2}");
    Ok(())
}
