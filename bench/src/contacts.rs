//! `taskbridge-bench contacts`: "Get Autotask contacts" against a sandbox with per-call
//! latency (wall time against the thread-limit bound), filtered 100-row Contacts pages over
//! HTTP, and importing 5,000 contacts as backup users.

use crate::session::{percentile, Session};
use serde_json::json;
use std::time::{Duration, Instant};

/// Runs the benchmark and prints `name: value` lines.
pub async fn contacts(companies: usize, contacts: usize, latency_ms: u64, database_url: Option<String>) -> anyhow::Result<()> {
    let seed = 1;
    let config = sandbox::SandboxConfig {
        seed,
        companies,
        contacts,
        faults: sandbox::faults::Faults { latency_ms, ..Default::default() },
        ..sandbox::SandboxConfig::default()
    };
    let (sb, s) = Session::with_sandbox("contacts", config, database_url).await?;

    // Get Autotask contacts, timed from the click to the job's end.
    sb.sandbox.limits.reset_stats();
    let started = Instant::now();
    let job = s.form("start_contact_fetch", &[]).await?;
    let (done, _) = s.job(&job, Duration::from_secs(900)).await?;
    let fetch = started.elapsed();
    let stats = sb.sandbox.limits.stats();
    let pages = contacts.div_ceil(500);
    let limit = Duration::from_millis(latency_ms) * pages.div_ceil(3) as u32;
    eprintln!("{}", done["message"]);

    // Every company discovered and mapped to a customer of its own (seeded directly, as the
    // map benchmark does), a destination and a package.
    let seeded = Instant::now();
    let tenant =
        sandbox::generate::generate(sandbox::generate::Spec { seed, companies, contacts: 0, anchor_month: sandbox::generate::current_month() });
    let rows: Vec<(i64, String)> = tenant
        .rows("Companies")
        .map(|t| t.values().filter_map(|r| Some((r.get("id")?.as_i64()?, r.get("companyName")?.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    let now = server::db::now_ms();
    for chunk in rows.chunks(200) {
        let mut tx = s.db.begin().await?;
        for (id, name) in chunk {
            sqlx::query(
                "insert into autotask_company (partner_id, company_id, name, name_key, company_type, type_label, is_active, seen_at, missing) \
                 values ($1, $2, $3, $4, 1, 'Customer', 1, $5, 0)",
            )
            .bind(s.partner_id)
            .bind(*id)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let customer: i64 = sqlx::query_scalar(
                "insert into customer (partner_id, name, name_key, country_code, region, source, created_at, updated_at, matched) \
                 values ($1, $2, $3, 'US', 'us', 'autotask_import', $4, $4, 1) returning customer_id",
            )
            .bind(s.partner_id)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) \
                 values ($1, $2, $3, $4, $4, $5, 'bench')",
            )
            .bind(s.partner_id)
            .bind(customer)
            .bind(*id)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    let destination = s
        .rpc("save_destination", &json!({"destination_id": null, "input": {"name": "US backups", "provider": "wasabi", "location": "msp-backups-us", "region": "us-east-1"}}))
        .await?["destination_id"]
        .clone();
    let package = s.rpc("save_package", &json!({"package_id": null, "input": {"name": "Standard", "limit_gb": "500"}})).await?["package_id"].clone();
    s.analyze().await?;
    eprintln!("{} companies mapped in {:.1} s", rows.len(), seeded.elapsed().as_secs_f64());

    // Import 5,000 contacts (the first by name): choose, then import, timed to the job's end.
    let ids: Vec<i64> = sqlx::query_scalar("select contact_id from autotask_contact where partner_id = $1 order by name_key, contact_id limit 5000")
        .bind(s.partner_id)
        .fetch_all(&s.db.pool)
        .await?;
    s.rpc("set_contact_choices", &json!({"selection": {"ids": ids}, "destination_id": destination, "package_id": package})).await?;
    let started = Instant::now();
    let job = s.rpc("import_contacts", &json!({"selection": {"ids": ids}})).await?;
    let (imported, _) = s.job(&job, Duration::from_secs(600)).await?;
    let import = started.elapsed();
    eprintln!("{}", imported["message"]);
    s.analyze().await?;

    // Filtered 100-row pages through the server function, as the browser asks for them.
    let some_company = rows.get(rows.len() / 2).map(|r| r.0).unwrap_or_default();
    let some_customer: i64 = sqlx::query_scalar("select customer_id from customer_link where partner_id = $1 and company_id = $2")
        .bind(s.partner_id)
        .bind(some_company)
        .fetch_one(&s.db.pool)
        .await?;
    let queries = [
        json!({"filter": {}, "sort": "name", "page": 1, "per_page": 100}),
        json!({"filter": {}, "sort": "name", "page": 300, "per_page": 100}),
        json!({"filter": {"search": "smith"}, "sort": "name", "page": 1, "per_page": 100}),
        json!({"filter": {"search": "dental"}, "sort": "company", "page": 2, "per_page": 100}),
        json!({"filter": {"status": "equal"}, "sort": "name", "page": 5, "per_page": 100}),
        json!({"filter": {"status": "failed"}, "sort": "name", "page": 1, "per_page": 100}),
        json!({"filter": {"status": "blank", "active": true}, "sort": "name", "page": 10, "per_page": 100}),
        json!({"filter": {"company_id": some_company}, "sort": "name", "page": 1, "per_page": 100}),
        json!({"filter": {"customer_id": some_customer}, "sort": "status", "page": 1, "per_page": 100}),
        json!({"filter": {}, "sort": "status", "page": 1, "per_page": 100}),
    ];
    let mut times = Vec::new();
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    for round in 0..30 {
        for (qi, query) in queries.iter().enumerate() {
            let t = Instant::now();
            s.rpc("list_contacts", &json!({"query": query})).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if round > 0 {
                times.push(ms);
                per_query[qi].push(ms);
            }
        }
    }
    for (query, mut t) in queries.iter().zip(per_query) {
        t.sort_by(f64::total_cmp);
        eprintln!("list_contacts {query}: p50 {:.1} ms, max {:.1} ms", percentile(&t, 0.5), percentile(&t, 1.0));
    }
    times.sort_by(f64::total_cmp);
    s.stop().await;
    sb.stop().await;

    println!("contacts: {}", done["succeeded"]);
    println!("pages: {pages}");
    println!("fetch_s: {:.3}", fetch.as_secs_f64());
    println!("limit_s: {:.3}", limit.as_secs_f64());
    println!("ratio_to_limit: {:.3}", fetch.as_secs_f64() / limit.as_secs_f64().max(1e-9));
    println!("peak_concurrency: {}", stats.peak_concurrency.values().copied().max().unwrap_or(0));
    println!("thread_limit_rejections: {}", stats.thread_limit_rejections);
    println!("page_requests: {}", times.len());
    println!("page_p50_ms: {:.2}", percentile(&times, 0.50));
    println!("page_p95_ms: {:.2}", percentile(&times, 0.95));
    println!("import_5000_s: {:.3}", import.as_secs_f64());
    println!("imported: {}", imported["succeeded"]);
    println!("import_failed: {}", imported["failed"]);
    Ok(())
}
