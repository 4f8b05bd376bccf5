//! History, second part (issue 16), on both databases: settings changes keep their values
//! before and after (never a secret), a customer's timeline gathers its runs, tickets,
//! billing writes and map changes, retention prunes in batches (and a crashed job becomes
//! a failed run), and the machine API's runs feed pages in the order runs ended — each
//! within its partner.

use crate::helpers::{both_databases, Backend};
use crate::world::World;
use app::error::AppError;
use app::types::history::{RunKind, RunLine, RunOutcome};
use sandbox::api::SECRET;
use sandbox::SandboxConfig;
use serde_json::{json, Value};
use server::db::history::{insert, NewRun};

both_databases!(
    settings_changes_keep_before_and_after_and_never_the_secret,
    a_customers_timeline_gathers_its_runs_billing_and_map_changes,
    retention_prunes_old_runs_and_changes_in_batches,
    the_runs_feed_reads_runs_in_the_order_they_ended,
);

async fn changes(w: &World, query: Value) -> Vec<Value> {
    w.admin.ok_json("list_changes", &json!({ "query": query })).await["rows"].as_array().unwrap().clone()
}

fn value<'a>(change: &'a Value, field: &str) -> (&'a str, &'a str) {
    let c = change["changes"].as_array().unwrap().iter().find(|c| c["field"] == field).unwrap_or_else(|| panic!("no {field} in {change}"));
    (c["before"].as_str().unwrap(), c["after"].as_str().unwrap())
}

fn run(partner_id: i64, kind: RunKind, finished_at: i64, summary: &str) -> NewRun<'_> {
    NewRun {
        partner_id,
        kind,
        started_by: "schedule",
        started_at: finished_at - 10,
        finished_at,
        outcome: RunOutcome::Ok,
        done: 1,
        skipped: 0,
        failed: 0,
        summary,
        retry_of: None,
        log_key: "",
    }
}

async fn settings_changes_keep_before_and_after_and_never_the_secret(backend: Backend) {
    let w = World::new(backend, "Changes", World::sandbox(4, 5)).await;
    // The connection saved with a secret: its values, and of the secret only that it changed.
    let saved = changes(&w, json!({"area": "connection"})).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(value(&saved[0], "Secret"), ("\u{2014}", "changed"));
    assert_eq!(value(&saved[0], "API username").0, "\u{2014}");
    let stored: Vec<String> = sqlx::query_scalar("select changes || summary from audit_event").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert!(stored.iter().all(|c| !c.contains(SECRET)), "the secret is never recorded: {stored:?}");

    // Ticket settings: only what changed, picked values by their label.
    let mut s = w.admin.ok("get_ticket_settings", &[]).await;
    let was = s["note_interval_minutes"].as_i64().unwrap();
    s["note_interval_minutes"] = json!(was + 30);
    s["subject_prefix"] = json!("[Backup]");
    w.admin.ok_json("save_ticket_settings", &json!({ "settings": s })).await;
    let tickets = changes(&w, json!({"area": "tickets"})).await;
    assert_eq!(tickets[0]["actor"], w.partner.email.as_str());
    assert_eq!(tickets[0]["changes"].as_array().unwrap().len(), 2, "{:?}", tickets[0]);
    assert_eq!(value(&tickets[0], "Note interval minutes"), (was.to_string().as_str(), (was + 30).to_string().as_str()));
    assert_eq!(value(&tickets[0], "Subject prefix"), ("\u{2014}", "[Backup]"));

    // The billing schedule, a user's role, an API token.
    w.admin
        .ok_json(
            "save_billing_schedule",
            &json!({"schedule": {"every_hours": 6, "hold_above": 50, "enabled": true, "next_run_at": null, "allow_add_service": false}}),
        )
        .await;
    let billing = changes(&w, json!({"area": "billing"})).await;
    assert_eq!(value(&billing[0], "Push every (hours)"), ("24", "6"));
    assert_eq!(value(&billing[0], "Hold changes above (units)"), ("\u{2014}", "50"));
    w.admin
        .ok("create_user", &[("email", "tech@changes.example"), ("name", "Tech"), ("role", "technician"), ("password", "tech-password-long")])
        .await;
    let users = w.admin.ok("list_users", &[]).await;
    let tech = users.as_array().unwrap().iter().find(|u| u["email"] == "tech@changes.example").unwrap()["user_id"].to_string();
    w.admin.ok("set_user_role", &[("user_id", &tech), ("role", "admin")]).await;
    let roles = changes(&w, json!({"area": "users"})).await;
    assert_eq!(value(&roles[0], "Role of tech@changes.example"), ("Technician", "Admin"), "{roles:?}");
    assert_eq!(value(&roles[1], "Role"), ("\u{2014}", "Technician"), "the user's creation lists its values");
    let tokens = changes(&w, json!({"area": "tokens"})).await;
    assert!(value(&tokens[0], "Token").1.starts_with("Backup platform ("), "{tokens:?}");
    assert!(!tokens[0].to_string().contains(&w.token), "never the token itself");

    // Search reaches the values; a bad filter names its field; another partner sees nothing.
    let other_area = changes(&w, json!({"area": "other"})).await;
    assert_eq!(other_area.len(), 1, "only what no area claims: {other_area:?}");
    assert!(other_area[0]["summary"].as_str().unwrap().starts_with("Partner created"), "{other_area:?}");
    let found = changes(&w, json!({"search": "[backup]"})).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let bad = w.admin.err_json("list_changes", &json!({"query": {"area": "everything"}})).await;
    assert!(matches!(&bad, AppError::Invalid { field, .. } if field == "area"), "{bad:?}");
    let other = w.app.partner("Other").await;
    let them = w.app.signed_in(&other.email, &other.password).await;
    let theirs = them.ok_json("list_changes", &json!({"query": {}})).await;
    assert!(theirs["rows"].as_array().unwrap().iter().all(|c| c["actor"] != w.partner.email.as_str()), "{theirs}");
}

async fn a_customers_timeline_gathers_its_runs_billing_and_map_changes(backend: Backend) {
    let w = World::new(backend, "Timeline", Some(SandboxConfig { seed: 4, companies: 5, contacts: 5, ..SandboxConfig::default() })).await;
    // Two customers linked with contracts; the second's contract lacks the service.
    w.contracted(w.autotask(), "Tl", 2, |i| i == 0, |i| 3 + i).await;
    w.map_server_licence().await;
    w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
    let id = |name: &'static str| {
        let pool = w.app.state.db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>("select customer_id from customer where name = $1").bind(name).fetch_one(&pool).await.unwrap() }
    };
    let (billed, skipped) = (id("Tl Customer 0").await, id("Tl Customer 1").await);

    let first = w.admin.ok("customer_timeline", &[("customer_id", &billed.to_string())]).await;
    assert_eq!(first["customer_name"], "Tl Customer 0");
    let kinds: Vec<String> = first["items"].as_array().unwrap().iter().map(|i| i.as_object().unwrap().keys().next().unwrap().clone()).collect();
    assert!(kinds.contains(&"Billed".to_string()), "the written quantity: {first}");
    let map: Vec<&Value> = first["items"].as_array().unwrap().iter().filter_map(|i| i.get("Change")).collect();
    assert_eq!(map.len(), 2, "linked, then its contract chosen: {first}");
    let contract = map.iter().find(|c| c["changes"][0]["field"] == "Billing contract").unwrap_or_else(|| panic!("{map:?}"));
    assert_eq!(value(contract, "Billing contract").0, "\u{2014}");
    assert!(value(contract, "Billing contract").1.starts_with("Backup 0 ("), "{contract}");
    let link = map.iter().find(|c| c["changes"][0]["field"] == "Autotask company").unwrap_or_else(|| panic!("{map:?}"));
    assert!(value(link, "Autotask company").1.starts_with("Tl Co 0 ("), "{link}");
    assert!(!kinds.contains(&"Run".to_string()), "nothing of the push failed for this customer: {first}");
    let billed_item = first["items"].as_array().unwrap().iter().find_map(|i| i.get("Billed")).unwrap();
    assert_eq!((billed_item["before_units"].as_i64(), billed_item["after_units"].as_i64()), (Some(0), Some(3)), "{billed_item}");

    // The other customer's timeline has the push run with its skipped line and the reason.
    let second = w.admin.ok("customer_timeline", &[("customer_id", &skipped.to_string())]).await;
    let run = second["items"].as_array().unwrap().iter().find_map(|i| i.get("Run")).unwrap_or_else(|| panic!("{second}"));
    assert_eq!(run["run"]["kind"], "Push");
    assert!(run["lines"][0]["reason"].as_str().unwrap().contains("not on the billing contract"), "{run}");
    // Newest first.
    let times: Vec<i64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let (k, v) = i.as_object().unwrap().iter().next().unwrap();
            match k.as_str() {
                "Run" => v["run"]["finished_at"].as_i64().unwrap(),
                "Change" => v["at"].as_i64().unwrap(),
                _ => v["at"].as_i64().or(v["opened_at"].as_i64()).unwrap(),
            }
        })
        .collect();
    assert!(times.windows(2).all(|p| p[0] >= p[1]), "{times:?}");
    // Map changes of one customer filter the changes list too.
    let mine = w.admin.ok_json("list_changes", &json!({"query": {"customer_id": skipped}})).await;
    assert_eq!((mine["rows"].as_array().unwrap().len(), mine["customer_name"].as_str()), (2, Some("Tl Customer 1")), "{mine}");

    // Another partner cannot read it.
    let other = w.app.partner("Elsewhere").await;
    let them = w.app.signed_in(&other.email, &other.password).await;
    assert_eq!(them.err("customer_timeline", &[("customer_id", &billed.to_string())]).await.1, AppError::NotFound);
}

async fn retention_prunes_old_runs_and_changes_in_batches(backend: Backend) {
    let w = World::new(backend, "Retention", None).await;
    let db = &w.app.state.db;
    let pid = w.partner.partner_id;
    let now = server::db::now_ms();
    let day = 86_400_000;
    assert_eq!(w.admin.ok("history_retention", &[]).await, 400, "the default");
    // 130 runs of 500 days ago (more than one batch), each with a line; one recent run
    // that retried an old one; one of 100 days ago.
    let mut old_ids = Vec::new();
    for i in 0..130 {
        let line = RunLine::failed(None, "Old Co", "Company 1", "Autotask said 404");
        old_ids.push(insert(db, &run(pid, RunKind::Sync, now - 500 * day + i, "old"), &[line]).await.unwrap());
    }
    let recent = insert(db, &NewRun { retry_of: Some(old_ids[0]), ..run(pid, RunKind::Import, now - day, "recent retry") }, &[]).await.unwrap();
    insert(db, &run(pid, RunKind::Sync, now - 100 * day, "hundred days"), &[]).await.unwrap();
    sqlx::query("update audit_event set created_at = $1 where partner_id = $2").bind(now - 500 * day).bind(pid).execute(&db.pool).await.unwrap();
    // Another partner's old run stays: its own retention is kept.
    let other = w.app.partner("Keeper").await;
    sqlx::query("update partner set history_days = 3650 where partner_id = $1").bind(other.partner_id).execute(&db.pool).await.unwrap();
    insert(db, &run(other.partner_id, RunKind::Sync, now - 500 * day, "theirs"), &[]).await.unwrap();

    let pruned = server::services::history::retention::prune_once(db, now).await.unwrap();
    assert_eq!(pruned.runs, 130);
    assert!(pruned.changes >= 2, "{pruned:?}");
    let left: Vec<String> =
        sqlx::query_scalar("select summary from run where partner_id = $1 order by run_id").bind(pid).fetch_all(&db.pool).await.unwrap();
    assert_eq!(left, ["recent retry", "hundred days"]);
    let lines: i64 = sqlx::query_scalar("select count(*) from run_line where partner_id = $1").bind(pid).fetch_one(&db.pool).await.unwrap();
    assert_eq!(lines, 0);
    let detail = w.admin.ok("get_run", &[("run_id", &recent.to_string())]).await;
    assert_eq!(detail["run"]["retry_of"], Value::Null, "the retry keeps its place without its pruned first run");
    let theirs: i64 = sqlx::query_scalar("select count(*) from run where partner_id = $1").bind(other.partner_id).fetch_one(&db.pool).await.unwrap();
    assert_eq!(theirs, 1);

    // A shorter retention is a recorded change, and the next pass holds to it.
    let (_, bad) = w.admin.err("save_history_retention", &[("days", "5")]).await;
    assert!(matches!(&bad, AppError::Invalid { field, message } if field == "days" && message.contains("30")), "{bad:?}");
    assert_eq!(w.admin.ok("save_history_retention", &[("days", "60")]).await, 60);
    assert_eq!(w.admin.ok("history_retention", &[]).await, 60);
    let change = w.admin.ok_json("list_changes", &json!({"query": {"search": "history is kept"}})).await;
    assert_eq!(value(&change["rows"][0], "Keep history for (days)"), ("400", "60"), "{change}");
    assert_eq!(server::services::history::retention::prune_once(db, now).await.unwrap().runs, 1);
    assert_eq!(server::services::history::retention::prune_once(db, now).await.unwrap(), Default::default(), "nothing left to prune");

    // A job its process left running (a crash) is failed by the hourly sweep, as a run.
    sqlx::query(
        "insert into job (partner_id, kind, state, stage, started_by, started_at, heartbeat_at, succeeded, failed) \
         values ($1, 'import', 'running', 'Importing', 'crashed@retention.example', $2, $2, 7, 1)",
    )
    .bind(pid)
    .bind(now - 120_000)
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(server::workers::jobs::Jobs::new(db.clone()).sweep_stale(now).await.unwrap(), 1);
    assert_eq!(server::workers::jobs::Jobs::new(db.clone()).sweep_stale(now).await.unwrap(), 0, "once");
    let runs = w.admin.ok_json("list_runs", &json!({"query": {"kind": "import", "outcome": "failed"}})).await;
    let crashed = &runs["rows"][0];
    assert_eq!(
        (crashed["done"].as_i64(), crashed["failed"].as_i64(), crashed["started_by"].as_str()),
        (Some(7), Some(1), Some("crashed@retention.example")),
        "{runs}"
    );
    assert!(crashed["summary"].as_str().unwrap().contains("Interrupted"), "{crashed}");
    assert!(crashed["log_key"].as_str().unwrap().starts_with("job_id="), "{crashed}");
}

async fn the_runs_feed_reads_runs_in_the_order_they_ended(backend: Backend) {
    let w = World::new(backend, "Feed", None).await;
    let db = &w.app.state.db;
    let now = server::db::now_ms();
    // Three runs that ended a minute ago, out of id order, and one that just ended
    // (younger than the settle time: not shown yet).
    for (at, summary) in [(now - 50_000, "second"), (now - 60_000, "first"), (now - 40_000, "third"), (now, "fresh")] {
        insert(db, &run(w.partner.partner_id, RunKind::Push, at, summary), &[]).await.unwrap();
    }
    let (status, page) = w.api_get("/api/v1/runs?limit=2").await;
    assert_eq!(status, 200, "{page}");
    let names = |p: &Value| p["runs"].as_array().unwrap().iter().map(|r| r["summary"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!((names(&page), page["has_more"].as_bool()), (vec!["first".to_string(), "second".into()], Some(true)), "{page}");
    assert_eq!(
        (page["runs"][0]["kind"].as_str(), page["runs"][0]["outcome"].as_str(), page["runs"][0]["trigger"].as_str()),
        (Some("push"), Some("ok"), Some("schedule"))
    );
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, next) = w.api_get(&format!("/api/v1/runs?changed_since={cursor}")).await;
    assert_eq!((names(&next), next["has_more"].as_bool()), (vec!["third".to_string()], Some(false)), "{next}");
    let (_, again) = w.api_get(&format!("/api/v1/runs?changed_since={}", next["next_cursor"].as_str().unwrap())).await;
    assert!(names(&again).is_empty(), "{again}");

    let (status, bad) = w.api_get("/api/v1/runs?changed_since=yesterday").await;
    assert_eq!((status, bad["error"]["field"].as_str()), (422, Some("changed_since")), "{bad}");
    let anonymous = reqwest::Client::new().get(w.app.url("/api/v1/runs")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    // Another partner's token reads only its own runs.
    let other = w.app.partner("Them").await;
    let them = w.app.signed_in(&other.email, &other.password).await;
    let token = them.ok("create_api_token", &[("name", "theirs")]).await["token"].as_str().unwrap().to_string();
    let theirs: Value = reqwest::Client::new().get(w.app.url("/api/v1/runs")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["runs"], json!([]), "{theirs}");
}
