//! The benchmarks of `taskbridge-bench` that print their figures as `name: value` lines.

use anyhow::Context;
use server::autotask::entities::{Company, Contact};
use server::autotask::{AutotaskClient, ClientOptions, Credentials, Query};
use std::time::{Duration, Instant};

/// `taskbridge-bench discover`: fetch every company and contact from a sandbox with
/// per-call latency, and compare the wall time with the thread-limit bound
/// `ceil(pages / 3) × latency`.
pub async fn discover(companies: usize, contacts: usize, latency_ms: u64) -> anyhow::Result<()> {
    let generated = Instant::now();
    let config = sandbox::SandboxConfig {
        seed: 1,
        companies,
        contacts,
        faults: sandbox::faults::Faults { latency_ms, ..Default::default() },
        ..sandbox::SandboxConfig::default()
    };
    let sb = sandbox::start(config, "127.0.0.1:0".parse()?).await?;
    eprintln!("sandbox with {companies} companies and {contacts} contacts ready in {:.1} s", generated.elapsed().as_secs_f64());
    let client = AutotaskClient::new(
        Credentials::new(sandbox::api::USERNAME, sandbox::api::SECRET, sandbox::api::INTEGRATION_CODE),
        ClientOptions { discovery_url: format!("{}/ATServicesRest/", sb.base_url()), timeout: Duration::from_secs(60), ..ClientOptions::default() },
    )?;
    let started = Instant::now();
    // Companies and contacts are separate thread-limit buckets, so they run side by side.
    let (all_companies, all_contacts) = tokio::join!(client.fetch_all::<Company>(vec![]), client.fetch_all::<Contact>(vec![]));
    let wall = started.elapsed();
    let all_companies = all_companies.context("fetching companies")?;
    let all_contacts = all_contacts.context("fetching contacts")?;
    let expected_companies = client.count("Companies", &Query::new([])).await?;
    let expected_contacts = client.count("Contacts", &Query::new([])).await?;
    anyhow::ensure!(all_companies.len() as i64 == expected_companies, "fetched {} companies of {expected_companies}", all_companies.len());
    anyhow::ensure!(all_contacts.len() as i64 == expected_contacts, "fetched {} contacts of {expected_contacts}", all_contacts.len());
    let (calls, retries, _) = client.counters();
    let calls = calls - 2; // the two verification counts above are not part of the fetch
    let stats = sb.sandbox.limits.stats();
    let peak = stats.peak_concurrency.values().copied().max().unwrap_or(0);
    let pages = all_companies.len().div_ceil(500) + all_contacts.len().div_ceil(500);
    let limit = Duration::from_millis(latency_ms) * pages.div_ceil(3) as u32;
    println!("companies: {}", all_companies.len());
    println!("contacts: {}", all_contacts.len());
    println!("pages: {pages}");
    println!("wall_s: {:.3}", wall.as_secs_f64());
    println!("calls: {calls}");
    println!("retries: {retries}");
    println!("peak_concurrency: {peak}");
    println!("peak_concurrency_all_entities: {}", stats.peak_concurrency_overall);
    println!("thread_limit_rejections: {}", stats.thread_limit_rejections);
    println!("limit_s: {:.3}", limit.as_secs_f64());
    println!("ratio_to_limit: {:.3}", wall.as_secs_f64() / limit.as_secs_f64().max(1e-9));
    sb.stop().await;
    Ok(())
}

/// `taskbridge-bench map`: a partner with `companies` discovered Autotask companies and
/// `customers` Taskbridge customers (a share named exactly or nearly like a company, some
/// already linked), served by a real server over HTTP. Times the Customer Map server
/// function for filtered 100-row pages, and the full matching pass.
pub async fn map(customers: usize, companies: usize, database_url: Option<String>) -> anyhow::Result<()> {
    let session = crate::session::Session::start("map", database_url, None).await?;
    let (db, partner_id) = (session.db.clone(), session.partner_id);

    // Companies with the sandbox generator's realistic names.
    let seeded = Instant::now();
    let tenant =
        sandbox::generate::generate(sandbox::generate::Spec { seed: 7, companies, contacts: 0, anchor_month: sandbox::generate::current_month() });
    let rows: Vec<(i64, String, i64)> = tenant
        .rows("Companies")
        .map(|t| {
            t.values()
                .filter_map(|r| {
                    Some((
                        r.get("id")?.as_i64()?,
                        r.get("companyName")?.as_str()?.to_string(),
                        r.get("companyType").and_then(|v| v.as_i64()).unwrap_or(1),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let now = server::db::now_ms();
    for chunk in rows.chunks(200) {
        let mut sql = String::from(
            "insert into autotask_company (partner_id, company_id, name, name_key, company_type, type_label, is_active, seen_at, missing) values ",
        );
        let values: Vec<String> =
            (0..chunk.len()).map(|i| format!("($1, ${}, ${}, ${}, ${}, 'Customer', 1, $2, 0)", i * 4 + 3, i * 4 + 4, i * 4 + 5, i * 4 + 6)).collect();
        sql.push_str(&values.join(", "));
        let mut q = sqlx::query(&sql).bind(partner_id).bind(now);
        for (id, name, kind) in chunk {
            q = q.bind(*id).bind(name.clone()).bind(name.to_lowercase()).bind(*kind);
        }
        q.execute(&db.pool).await?;
    }
    // Customers: 40% exact names, 15% case variants, 10% with another legal suffix, the rest unique.
    let mut customer_rows: Vec<(String, Option<i64>)> = Vec::with_capacity(customers);
    for i in 0..customers {
        let (company_id, name, _) = &rows[(i * 7919) % rows.len()];
        let (customer_name, link) = match i % 20 {
            0..=7 => (name.clone(), (i % 40 < 8).then_some(*company_id)),
            8..=10 => (name.to_uppercase(), None),
            11 | 12 => (format!("{name} LLC"), None),
            _ => (format!("Platform Customer {i:05}"), None),
        };
        customer_rows.push((customer_name, link));
    }
    let mut linked_companies = std::collections::HashSet::new();
    for chunk in customer_rows.chunks(200) {
        let mut tx = db.begin().await?;
        for (name, link) in chunk {
            let id: i64 = sqlx::query_scalar("insert into customer (partner_id, name, name_key, country_code, region, source, created_at, updated_at) values ($1, $2, $3, 'US', 'us', 'api', $4, $4) returning customer_id")
                .bind(partner_id)
                .bind(name)
                .bind(name.to_lowercase())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(company_id) = link.filter(|k| linked_companies.insert(*k)) {
                sqlx::query("insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) values ($1, $2, $3, $4, $4, $5, 'bench')")
                    .bind(partner_id)
                    .bind(id)
                    .bind(company_id)
                    .bind(name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
    }
    // Fresh statistics, as autovacuum/analyze would keep them in production.
    session.analyze().await?;
    eprintln!(
        "{} companies, {customers} customers ({} linked) seeded in {:.1} s",
        rows.len(),
        linked_companies.len(),
        seeded.elapsed().as_secs_f64()
    );

    // The matching pass over every row (load, match, store), best of three runs' median.
    let mut matching = Vec::new();
    let mut found = 0;
    for _ in 0..3 {
        let t = Instant::now();
        found = server::services::map::rematch(&db, partner_id).await.map_err(|e| anyhow::anyhow!("matching: {e}"))?;
        matching.push(t.elapsed().as_secs_f64());
    }
    matching.sort_by(f64::total_cmp);

    // Pages through the real server function over HTTP, as the browser calls it.
    let queries: Vec<(&str, serde_json::Value)> = vec![
        ("map_customers", serde_json::json!({"customers": "unmatched", "search": "", "page": 1, "per_page": 100})),
        ("map_customers", serde_json::json!({"customers": "matched", "search": "", "page": 3, "per_page": 100})),
        ("map_customers", serde_json::json!({"customers": "all", "search": "dental", "page": 1, "per_page": 100})),
        ("map_customers", serde_json::json!({"customers": "unmatched", "search": "", "page": 40, "per_page": 100})),
        ("map_companies", serde_json::json!({"companies": "suggested", "search": "", "page": 1, "per_page": 100})),
        ("map_companies", serde_json::json!({"companies": "unmatched", "search": "acme", "page": 1, "per_page": 100})),
        ("map_companies", serde_json::json!({"companies": "matched", "search": "", "page": 2, "per_page": 100})),
        ("map_companies", serde_json::json!({"companies": "all", "search": "", "page": 120, "per_page": 100})),
    ];
    let mut times = Vec::new();
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    for round in 0..30 {
        for (qi, (endpoint, query)) in queries.iter().enumerate() {
            let t = Instant::now();
            session.rpc(endpoint, &serde_json::json!({"query": query})).await?;
            if round > 0 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                per_query[qi].push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    for ((endpoint, query), mut t) in queries.iter().zip(per_query) {
        t.sort_by(f64::total_cmp);
        eprintln!("{endpoint} {query}: p50 {:.1} ms, max {:.1} ms", t[t.len() / 2], t[t.len() - 1]);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| crate::session::percentile(&times, p);
    session.stop().await;
    println!("customers: {customers}");
    println!("companies: {}", rows.len());
    println!("suggestions: {found}");
    println!("page_requests: {}", times.len());
    println!("page_p50_ms: {:.2}", pct(0.50));
    println!("page_p95_ms: {:.2}", pct(0.95));
    println!("matching_s: {:.3}", matching[1]);
    Ok(())
}

/// `taskbridge-bench events`: `events` backup events over `incidents` incidents posted to
/// a real server (SQLite unless `database_url`), dispatched to a sandbox with `latency_ms`
/// per call. Prints accepted events/s, tickets (one per incident), notes, API calls, and
/// the event-to-ticket latency of fresh incidents on an idle queue.
pub async fn events(
    events: usize,
    incidents: usize,
    latency_ms: u64,
    note_interval_minutes: i64,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    use app::services::TokenStore;
    use server::autotask::Filter;
    use server::config::{ServeArgs, StoreArgs};
    anyhow::ensure!(incidents > 0 && events >= incidents, "give at least one event per incident");
    let config = sandbox::SandboxConfig {
        seed: 3,
        companies: 10,
        contacts: 10,
        faults: sandbox::faults::Faults { latency_ms, ..Default::default() },
        hourly_threshold: 10_000_000,
        ..sandbox::SandboxConfig::default()
    };
    let sb = sandbox::start(config, "127.0.0.1:0".parse()?).await?;
    let discovery = format!("{}/ATServicesRest/", sb.base_url());
    let dir = std::env::temp_dir().join(format!("taskbridge-bench-events-{}", server::crypto::random_token(6).to_lowercase()));
    std::fs::create_dir_all(&dir)?;
    let args = ServeArgs {
        store: StoreArgs { data_dir: dir.clone(), database_url, master_key: None, master_key_file: None },
        listen: "127.0.0.1:0".parse()?,
        site_root: "target/site".into(),
        demo: false,
        public_url: None,
        trust_proxy: false,
        session_idle_minutes: 480,
        session_max_hours: 168,
        metrics_token: None,
        embedded_sandbox: None,
        autotask_discovery_url: Some(discovery.clone()),
        request_timeout_secs: 60,
        autotask_allowed_hosts: Vec::new(),
        metrics_public: false,
    };
    let state = server::startup::build_state(&args).await?;
    let db = state.db.clone();
    let email = format!("bench-{}@bench.example", server::crypto::random_token(6).to_lowercase().replace(['-', '_'], "x"));
    let admin = app::types::NewUser {
        email: email.clone(),
        name: "Bench Admin".into(),
        role: app::types::Role::Admin,
        password: format!("bench-{}", server::crypto::random_token(12)),
    };
    let partner = server::db::partners::create_partner(&db, &format!("Bench MSP {}", server::crypto::random_token(4)), admin).await?;
    let partner_id = partner.partner_id;
    server::services::connection::preconnect(
        &db,
        &state.master_key,
        partner_id,
        sandbox::api::USERNAME,
        sandbox::api::SECRET,
        sandbox::api::INTEGRATION_CODE,
    )
    .await?;
    let actor = app::types::CurrentUser {
        user_id: partner.user_id,
        partner_id,
        partner_name: "Bench".into(),
        email: email.clone(),
        name: "Bench".into(),
        role: app::types::Role::Admin,
    };
    let token = state.tokens.create(&actor, "bench".into()).await.map_err(|e| anyhow::anyhow!("token: {e}"))?.token;

    // Customers (10 devices each), each linked to its own Autotask company.
    let at = AutotaskClient::new(
        Credentials::new(sandbox::api::USERNAME, sandbox::api::SECRET, sandbox::api::INTEGRATION_CODE),
        ClientOptions { discovery_url: discovery, ..ClientOptions::default() },
    )?;
    let customers = incidents.div_ceil(10);
    let now = server::db::now_ms();
    for c in 0..customers {
        let name = format!("Bench Customer {c:04}");
        let company = at
            .create(
                "Companies",
                &serde_json::json!({"companyName": name, "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true, "countryID": 237}),
            )
            .await?;
        let id: i64 = sqlx::query_scalar("insert into customer (partner_id, name, name_key, external_ref, country_code, region, source, matched, created_at, updated_at) values ($1, $2, $3, $4, 'US', 'us', 'api', 1, $5, $5) returning customer_id")
            .bind(partner_id)
            .bind(&name)
            .bind(name.to_lowercase())
            .bind(format!("bench-c{c}"))
            .bind(now)
            .fetch_one(&db.pool)
            .await?;
        sqlx::query("insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) values ($1, $2, $3, $4, $4, $5, 'bench')")
            .bind(partner_id)
            .bind(id)
            .bind(company)
            .bind(&name)
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    sqlx::query("insert into notification_rule (partner_id, action, created_at, created_by) values ($1, 'ticket', $2, 'bench')")
        .bind(partner_id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    sqlx::query("insert into ticket_settings (partner_id, note_interval_minutes, queue_label, priority_label, status_new_label, status_complete_label, updated_at, updated_by) values ($1, $2, 'Managed Services Alerts', 'Medium', 'New', 'Complete', $3, 'bench')")
        .bind(partner_id)
        .bind(note_interval_minutes)
        .bind(now)
        .execute(&db.pool)
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let dispatcher = server::startup::start_dispatcher(&state, &args.store.data_dir);
    let server = tokio::spawn(server::startup::serve_on(listener, state, Duration::from_secs(60), async {
        let _ = rx.await;
    }));
    let url = format!("http://{addr}/api/v1/events");
    let http = reqwest::Client::new();
    sb.sandbox.limits.reset_stats();

    // The flood: batches of 1,000 from 4 concurrent senders.
    let event = |i: usize| {
        let incident = i % incidents;
        serde_json::json!({"id": format!("bench-{i}"), "customer_ref": format!("bench-c{}", incident / 10), "device": format!("DEV{}", incident % 10), "job": "Nightly",
            "type": "backup_failed", "severity": "error", "message": format!("VSS snapshot failed (attempt {})", i / incidents), "occurred_at": "2026-11-22T03:00:00Z"})
    };
    let batches: Vec<Vec<serde_json::Value>> = (0..events).collect::<Vec<_>>().chunks(1_000).map(|c| c.iter().map(|i| event(*i)).collect()).collect();
    let bodies: Vec<Vec<u8>> = batches.into_iter().map(|b| serde_json::to_vec(&serde_json::json!({ "events": b }))).collect::<Result<_, _>>()?;
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let recording_before = server::services::history::recording_spent();
    let flood = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (queue, http, url, token) = (queue.clone(), http.clone(), url.clone(), token.clone());
        senders.push(tokio::spawn(async move {
            let mut accepted = 0i64;
            loop {
                let body = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(body) = body else { break };
                let r = http.post(&url).bearer_auth(&token).header("content-type", "application/json").body(body).send().await?;
                anyhow::ensure!(r.status().is_success(), "events answered {}", r.status());
                let v: serde_json::Value = r.json().await?;
                accepted += v["accepted"].as_i64().unwrap_or_default();
            }
            anyhow::Ok(accepted)
        }));
    }
    let mut accepted = 0;
    for s in senders {
        accepted += s.await??;
    }
    let flood_s = flood.elapsed().as_secs_f64();
    anyhow::ensure!(accepted as usize == events, "accepted {accepted} of {events}");

    // Wait for the dispatcher to finish.
    let pending = || async { sqlx::query_scalar::<_, i64>("select count(*) from event where dispatch_state = 'pending'").fetch_one(&db.pool).await };
    let mut last_report = Instant::now();
    loop {
        let left = pending().await?;
        if left == 0 {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("{left} events waiting for dispatch");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dispatch_s = flood.elapsed().as_secs_f64();
    // The floor: the busiest entity's calls, 3 at a time (Autotask's thread limit), each
    // taking the sandbox's latency.
    let drained = sb.sandbox.limits.stats();
    let busiest = drained.requests.values().copied().max().unwrap_or_default();
    let drain_floor_s = busiest as f64 / sandbox::limits::THREADS_PER_ENTITY as f64 * latency_ms as f64 / 1000.0;
    // Repeats are noted once their interval has passed: wait for those notes too.
    loop {
        let due: i64 =
            sqlx::query_scalar("select count(*) from incident where note_due_at is not null or (ticket_id is not null and ticket_number is null)")
                .fetch_one(&db.pool)
                .await?;
        if due == 0 {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("{due} incidents have a repeat note due (interval {note_interval_minutes} min)");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = sb.sandbox.limits.stats();
    let api_calls: u64 = stats.requests.values().sum();
    let tickets = at.count("Tickets", &Query::new([Filter::begins_with("externalID", "taskbridge-incident-")])).await?;
    let notes = at.count("TicketNotes", &Query::new([Filter::contains("description", "taskbridge-note-")])).await?;

    // Event-to-ticket latency of fresh incidents, one at a time, on an idle queue.
    let mut latencies = Vec::new();
    for n in 0..100 {
        let body = serde_json::json!({"id": format!("probe-{n}"), "customer_ref": "bench-c0", "device": format!("PROBE{n}"), "type": "backup_failed", "severity": "error", "occurred_at": "2026-11-22T03:00:00Z"});
        let r = http.post(&url).bearer_auth(&token).json(&body).send().await?;
        anyhow::ensure!(r.status().is_success(), "probe answered {}", r.status());
        let waited = Instant::now();
        loop {
            // Done when the dispatcher has also read the ticket's number (it is idle again).
            let row: Option<(i64, Option<i64>)> = sqlx::query_as("select e.received_at, i.ticket_created_at from event e join incident i on i.incident_id = e.incident_id where e.external_id = $1 and e.partner_id = $2 and i.ticket_number is not null")
                .bind(format!("probe-{n}"))
                .bind(partner_id)
                .fetch_optional(&db.pool)
                .await?;
            if let Some((received, Some(created))) = row {
                latencies.push((created - received) as f64);
                break;
            }
            anyhow::ensure!(waited.elapsed() < Duration::from_secs(30), "probe {n} got no ticket");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // An idle queue: let the dispatcher finish its round before the next probe.
        tokio::time::sleep(Duration::from_millis(latency_ms + 20)).await;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    // Every round that did something is a run: the storm's, the notes', each probe's.
    let (runs, recording) = overhead(recording_before, flood.elapsed().as_secs_f64());

    dispatcher.stop();
    let _ = tx.send(());
    let _ = server.await;
    sb.stop().await;
    if std::env::var_os("TASKBRIDGE_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
    println!("events: {events}");
    println!("incidents: {incidents}");
    println!("sandbox_latency_ms: {latency_ms}");
    println!("accepted_per_s: {:.0}", events as f64 / flood_s);
    println!("dispatch_s: {dispatch_s:.2}");
    println!("drain_s: {dispatch_s:.2}");
    println!("drain_floor_s: {drain_floor_s:.2}");
    println!("drain_ratio: {:.2}", if drain_floor_s > 0.0 { dispatch_s / drain_floor_s } else { 0.0 });
    for (entity, peak) in &stats.peak_concurrency {
        println!("peak_concurrency_{}: {peak}", entity.to_lowercase());
    }
    println!("tickets: {tickets}");
    println!("notes: {notes}");
    println!("api_calls: {api_calls}");
    println!("latency_p50_ms: {:.1}", pct(0.50));
    println!("latency_p99_ms: {:.1}", pct(0.99));
    println!("history_runs: {runs}");
    println!("write_overhead_pct: {recording:.2}");
    Ok(())
}

/// Runs the History recorded since `before` and the share of `wall_s` that recording took,
/// in per cent (each run is written inline by the work it records, so its time adds to it).
fn overhead(before: (u64, Duration), wall_s: f64) -> (u64, f64) {
    let (runs, spent) = server::services::history::recording_spent();
    let spent = spent.saturating_sub(before.1).as_secs_f64();
    (runs - before.0, if wall_s > 0.0 { spent / wall_s * 100.0 } else { 0.0 })
}

/// `taskbridge-bench billing`: `customers` mapped customers with `products` billed
/// products each on Recurring Service contracts in a sandbox, where `changed_pct` % of
/// the quantities differ from what Autotask bills. Times one push (fresh reads, then an
/// adjustment per difference) and counts the API calls.
pub async fn billing(customers: usize, changed_pct: usize, latency_ms: u64) -> anyhow::Result<()> {
    use app::types::billing::PushSelection;
    use serde_json::{json, Map, Value};
    use server::config::{ServeArgs, StoreArgs};
    const PRODUCTS: [(&str, i64); 4] =
        [("server_backup", 29_683_101), ("workstation_backup", 29_683_102), ("m365_backup", 29_683_105), ("bdr_appliance", 29_683_104)];
    let config = sandbox::SandboxConfig {
        seed: 5,
        companies: 1,
        contacts: 1,
        faults: sandbox::faults::Faults { latency_ms, ..Default::default() },
        hourly_threshold: 10_000_000,
        ..sandbox::SandboxConfig::default()
    };
    let sb = sandbox::start(config, "127.0.0.1:0".parse()?).await?;
    let dir = std::env::temp_dir().join(format!("taskbridge-bench-billing-{}", server::crypto::random_token(6).to_lowercase()));
    std::fs::create_dir_all(&dir)?;
    let args = ServeArgs {
        store: StoreArgs { data_dir: dir.clone(), database_url: None, master_key: None, master_key_file: None },
        listen: "127.0.0.1:0".parse()?,
        site_root: "target/site".into(),
        demo: false,
        public_url: None,
        trust_proxy: false,
        session_idle_minutes: 480,
        session_max_hours: 168,
        metrics_token: None,
        embedded_sandbox: None,
        autotask_discovery_url: Some(format!("{}/ATServicesRest/", sb.base_url())),
        request_timeout_secs: 60,
        autotask_allowed_hosts: Vec::new(),
        metrics_public: false,
    };
    let state = server::startup::build_state(&args).await?;
    let db = state.db.clone();
    let admin = app::types::NewUser {
        email: "bench@bench.example".into(),
        name: "Bench".into(),
        role: app::types::Role::Admin,
        password: format!("bench-{}", server::crypto::random_token(12)),
    };
    let partner_id = server::db::partners::create_partner(&db, "Bench MSP", admin).await?.partner_id;
    server::services::connection::preconnect(
        &db,
        &state.master_key,
        partner_id,
        sandbox::api::USERNAME,
        sandbox::api::SECRET,
        sandbox::api::INTEGRATION_CODE,
    )
    .await?;

    // Autotask side, written straight into the sandbox: a company, a recurring contract,
    // its services and this month's units for every customer.
    let seeded = Instant::now();
    let now = server::db::now_ms();
    let month = &app::format::iso_utc(now)[..7];
    let (year, mon): (i32, u32) = (month[..4].parse()?, month[5..].parse()?);
    let next = if mon == 12 { format!("{:04}-01", year + 1) } else { format!("{year:04}-{:02}", mon + 1) };
    let obj = |v: Value| -> Map<String, Value> {
        if let Value::Object(m) = v {
            m
        } else {
            Map::new()
        }
    };
    let mut rows: Vec<(i64, i64, Vec<i64>)> = Vec::with_capacity(customers); // company, contract, units per product
    {
        let mut t = sb.sandbox.write();
        for c in 0..customers {
            let company = t.insert("Companies", obj(json!({"companyName": format!("Billing Bench {c:05}"), "companyType": 1, "isActive": true, "countryID": 237, "ownerResourceID": 29_682_885})));
            let contract = t.insert("Contracts", obj(json!({"companyID": company, "contractName": format!("Managed Backup {c:05}"), "contractType": 7, "status": 1, "startDate": "2025-01-01T00:00:00Z", "endDate": "2030-12-31T00:00:00Z"})));
            let mut units = Vec::new();
            for (p, (_, service)) in PRODUCTS.iter().enumerate() {
                let n = ((c * 7 + p * 3) % 40 + 1) as i64;
                let cs = t.insert("ContractServices", obj(json!({"contractID": contract, "serviceID": service, "unitPrice": 10.0})));
                t.insert("ContractServiceUnits", obj(json!({"contractID": contract, "contractServiceID": cs, "serviceID": service, "startDate": format!("{month}-01T00:00:00Z"), "endDate": format!("{next}-01T00:00:00Z"), "units": n, "price": 10.0 * n as f64, "cost": 0.0})));
                units.push(n);
            }
            rows.push((company, contract, units));
        }
    }
    // Taskbridge side: customers linked with their contract, products mapped, usage where
    // `changed_pct` % of quantities differ.
    for (product, service) in PRODUCTS {
        sqlx::query("insert into product_mapping (partner_id, product, service_id, service_name, rounding, unit_size, updated_at, updated_by) values ($1, $2, $3, 'bench', 'up', 1, $4, 'bench')")
            .bind(partner_id)
            .bind(product)
            .bind(service)
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    let mut changed = 0usize;
    for chunk in rows.chunks(250).enumerate() {
        let (ci, chunk) = chunk;
        let mut tx = db.begin().await?;
        for (i, (company, contract, units)) in chunk.iter().enumerate() {
            let c = ci * 250 + i;
            let name = format!("Billing Bench {c:05}");
            let id: i64 = sqlx::query_scalar("insert into customer (partner_id, name, name_key, country_code, region, source, matched, contract_id, contract_company_id, contract_name, created_at, updated_at) values ($1, $2, $3, 'US', 'us', 'api', 1, $4, $5, 'bench', $6, $6) returning customer_id")
                .bind(partner_id)
                .bind(&name)
                .bind(name.to_lowercase())
                .bind(contract)
                .bind(company)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) values ($1, $2, $3, $4, $4, $5, 'bench')")
                .bind(partner_id)
                .bind(id)
                .bind(company)
                .bind(&name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for (p, (product, _)) in PRODUCTS.iter().enumerate() {
                let differs = (c * PRODUCTS.len() + p) % 100 < changed_pct;
                let quantity = units[p] + if differs { 1 + (c % 3) as i64 } else { 0 };
                changed += usize::from(differs);
                sqlx::query("insert into usage_report (partner_id, customer_id, product, period, quantity, measured_at, received_at) values ($1, $2, $3, $4, $5, $6, $6)")
                    .bind(partner_id)
                    .bind(id)
                    .bind(*product)
                    .bind(month)
                    .bind(quantity as f64)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
    }
    eprintln!("{customers} customers × {} products seeded in {:.1} s ({changed} quantities differ)", PRODUCTS.len(), seeded.elapsed().as_secs_f64());

    let client = state.connections.client(partner_id).await.map_err(|p| anyhow::anyhow!(p.message))?;
    sb.sandbox.limits.reset_stats();
    let recording_before = server::services::history::recording_spent();
    let started = Instant::now();
    let result = server::services::billing::push::apply(&db, &client, partner_id, "bench", &PushSelection::default(), None).await?;
    let wall = started.elapsed().as_secs_f64();
    let (runs, recording) = overhead(recording_before, wall);
    let stats = sb.sandbox.limits.stats();
    let writes = stats.requests.get("ContractServiceAdjustments").copied().unwrap_or_default();
    let reads: u64 = stats.requests.values().sum::<u64>() - writes;
    let write_peak = stats.peak_concurrency.get("ContractServiceAdjustments").copied().unwrap_or_default();
    anyhow::ensure!(result.failed == 0, "{} lines failed", result.failed);
    // A second push right after finds nothing to write.
    sb.sandbox.limits.reset_stats();
    let again = server::services::billing::push::apply(&db, &client, partner_id, "bench", &PushSelection::default(), None).await?;
    let second_writes = sb.sandbox.limits.stats().requests.get("ContractServiceAdjustments").copied().unwrap_or_default();
    sb.stop().await;
    if std::env::var_os("TASKBRIDGE_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
    println!("customers: {customers}");
    println!("quantities: {}", customers * PRODUCTS.len());
    println!("changed: {changed}");
    println!("applied: {}", result.applied);
    println!("reads: {reads}");
    println!("writes: {writes}");
    println!("writes_per_change: {:.3}", writes as f64 / changed.max(1) as f64);
    println!("wall_s: {wall:.2}");
    println!("write_peak_concurrency: {write_peak}");
    println!("thread_limit_rejections: {}", stats.thread_limit_rejections);
    println!("second_push_writes: {second_writes}");
    println!("second_push_unchanged: {}", again.unchanged);
    println!("history_runs: {runs}");
    println!("write_overhead_pct: {recording:.2}");
    Ok(())
}
