//! History (issue 16) on both databases: billing pushes, undos, connection tests and
//! test tickets each write one run with its counts and the reason of every record that
//! did not go through; the list filters and pages by cursor; the CSV export and every
//! read stay within the partner.

use crate::helpers::{both_databases, Backend};
use crate::world::World;
use app::error::AppError;
use app::types::history::{RunKind, RunLine, RunOutcome};
use sandbox::SandboxConfig;
use serde_json::{json, Value};

both_databases!(
    pushes_undos_and_tests_are_recorded_with_their_reasons_and_filtered,
    retrying_a_push_re_runs_only_its_failed_lines_as_a_linked_run,
    the_list_pages_by_cursor_and_stays_within_the_partner,
);

async fn runs(w: &World, query: Value) -> Vec<Value> {
    w.admin.ok_json("list_runs", &json!({ "query": query })).await["rows"].as_array().unwrap().clone()
}

async fn lines(w: &World, run: &Value) -> Vec<Value> {
    w.admin.ok("get_run", &[("run_id", &run["run_id"].to_string())]).await["lines"].as_array().unwrap().clone()
}

async fn pushes_undos_and_tests_are_recorded_with_their_reasons_and_filtered(backend: Backend) {
    let w = World::new(backend, "History", Some(SandboxConfig { seed: 4, companies: 5, contacts: 5, ..SandboxConfig::default() })).await;
    let at = w.autotask();
    // The third contract lacks the service: its line is skipped, with the reason.
    w.contracted(at, "Hist", 3, |i| i < 2, |i| 2 + i).await;
    w.map_server_licence().await;
    let pushed = w.admin.ok_json("apply_push", &json!({"selection": {"lines": null, "hold_above": null}})).await;
    assert_eq!(pushed["applied"], 2, "{pushed}");

    let all = runs(&w, json!({})).await;
    let push = all.iter().find(|r| r["kind"] == "Push").unwrap_or_else(|| panic!("no push run: {all:?}")).clone();
    assert_eq!(
        (push["outcome"].as_str(), push["done"].as_i64(), push["skipped"].as_i64(), push["failed"].as_i64()),
        (Some("Ok"), Some(2), Some(1), Some(0)),
        "{push}"
    );
    assert_eq!(push["log_key"], format!("push_id={}", pushed["push_id"]), "its server log lines carry the push's id");
    let push_lines = lines(&w, &push).await;
    assert_eq!(push_lines.len(), 1, "{push_lines:?}");
    assert_eq!((push_lines[0]["outcome"].as_str(), push_lines[0]["customer_name"].as_str()), (Some("skipped"), Some("Hist Customer 2")));
    assert!(push_lines[0]["reason"].as_str().unwrap().contains("not on the billing contract"), "{push_lines:?}");
    let skipped_customer = push_lines[0]["customer_id"].as_i64().unwrap();

    // An undo while Autotask is down: one failed run, each line with why.
    w.faults(json!({"rate_5xx": 1.0})).await;
    let failed = w.admin.ok("undo_push", &[("push_id", &pushed["push_id"].to_string())]).await;
    w.faults(json!({})).await;
    assert_eq!(failed["failed"], 2, "{failed}");
    let undo = runs(&w, json!({"kind": "push_undo"})).await;
    assert_eq!(undo.len(), 1, "{undo:?}");
    assert_eq!((undo[0]["outcome"].as_str(), undo[0]["done"].as_i64(), undo[0]["failed"].as_i64()), (Some("Failed"), Some(0), Some(2)), "{undo:?}");
    let undo_lines = lines(&w, &undo[0]).await;
    assert_eq!(undo_lines.len(), 2);
    assert!(undo_lines.iter().all(|l| l["outcome"] == "failed" && l["reason"].as_str().unwrap().contains("undo again")), "{undo_lines:?}");
    let (_, undo_retry) = w.admin.err("retry_run", &[("run_id", &undo[0]["run_id"].to_string())]).await;
    assert!(matches!(&undo_retry, AppError::Conflict(m) if m.contains("cannot be retried")), "{undo_retry:?}");

    // A connection test and a test ticket are runs too.
    w.admin.ok("test_autotask_connection", &[]).await;
    let tests = runs(&w, json!({"kind": "connection_test"})).await;
    assert_eq!((tests.len(), tests[0]["outcome"].as_str()), (1, Some("Ok")), "{tests:?}");
    assert!(tests[0]["summary"].as_str().unwrap().starts_with("Connected to"), "{tests:?}");
    assert!(tests[0]["log_key"].as_str().unwrap().starts_with("run_key="), "{tests:?}");

    // Filters: outcome, words in a line's reason, a customer, dates.
    let failed_runs = runs(&w, json!({"outcome": "failed"})).await;
    assert_eq!(failed_runs.iter().map(|r| r["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["Undo"]);
    let by_reason = runs(&w, json!({"search": "NOT ON THE BILLING"})).await;
    assert_eq!(by_reason.iter().map(|r| r["run_id"].clone()).collect::<Vec<_>>(), [push["run_id"].clone()], "search ignores letter case");
    let by_customer = w.admin.ok_json("list_runs", &json!({"query": {"customer_id": skipped_customer}})).await;
    assert_eq!(by_customer["rows"].as_array().map(Vec::len), Some(1), "{by_customer}");
    assert_eq!(by_customer["customer_name"], "Hist Customer 2");
    let today = &app::format::iso_utc(server::db::now_ms())[..10];
    assert_eq!(runs(&w, json!({"from": today, "to": today})).await.len(), all.len() + 2);
    assert!(runs(&w, json!({"to": "2020-01-01"})).await.is_empty());
    let bad = w.admin.err_json("list_runs", &json!({"query": {"from": "03/12/2026"}})).await;
    assert!(matches!(&bad, AppError::Invalid { field, message } if field == "from" && message.contains("YYYY-MM-DD")), "{bad:?}");
    let bad = w.admin.err_json("list_runs", &json!({"query": {"kind": "everything"}})).await;
    assert!(matches!(&bad, AppError::Invalid { field, .. } if field == "kind"), "{bad:?}");

    // The CSV export has the run and its lines.
    let csv = w.admin.get(&format!("/exports/runs/{}.csv", push["run_id"])).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("Run,Kind,Started by"), "{text}");
    assert!(text.contains("Hist Customer 2") && text.contains("not on the billing contract"), "{text}");

    // Job, push and test summaries moved from the activity list to the History: not written twice.
    let audit: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action in ('autotask.test', 'import', 'discover', 'billing.push', 'billing.undo')",
    )
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(audit, 0);
    let overview = w.admin.ok("get_overview", &[]).await;
    let problems: Vec<&str> = overview["problem_runs"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(problems, ["Undo"], "the Overview lists the failed undo: {overview}");
}

async fn retrying_a_push_re_runs_only_its_failed_lines_as_a_linked_run(backend: Backend) {
    let w = World::new(backend, "Retry", Some(SandboxConfig { seed: 4, companies: 5, contacts: 5, ..SandboxConfig::default() })).await;
    let contracts = w.contracted(w.autotask(), "Again", 2, |_| true, |i| 3 + i).await;
    w.map_server_licence().await;
    // A push whose one failed line is the first customer's licences (as an outage leaves it).
    let customer: i64 =
        sqlx::query_scalar("select customer_id from customer where name = 'Again Customer 0'").fetch_one(&w.app.state.db.pool).await.unwrap();
    let now = server::db::now_ms();
    let failed_run = server::db::history::NewRun {
        partner_id: w.partner.partner_id,
        kind: RunKind::Push,
        started_by: "schedule",
        started_at: now,
        finished_at: now,
        outcome: RunOutcome::Failed,
        done: 0,
        skipped: 0,
        failed: 1,
        summary: "Push 0: Autotask was down.",
        retry_of: None,
        log_key: "",
    };
    let line = RunLine::failed(Some(customer), "Again Customer 0", "server_backup", "Autotask answered 503.").for_retry(customer, "server_backup");
    let first = server::db::history::insert(&w.app.state.db, &failed_run, &[line]).await.unwrap();
    let detail = w.admin.ok("get_run", &[("run_id", &first.to_string())]).await;
    assert_eq!(detail["retryable"], true, "{detail}");

    let retried = w.admin.ok("retry_run", &[("run_id", &first.to_string())]).await;
    assert_eq!((retried["push"]["applied"].as_i64(), retried["push"]["failed"].as_i64()), (Some(1), Some(0)), "{retried}");
    assert_eq!(w.billed(w.autotask(), contracts[0].0).await, contracts[0].1, "the failed line was written");
    assert_eq!(w.billed(w.autotask(), contracts[1].0).await, 0, "the other customer's change was not part of the retry");
    let retry = runs(&w, json!({"kind": "push"})).await[0].clone();
    assert_eq!((retry["retry_of"].as_i64(), retry["outcome"].as_str()), (Some(first), Some("Ok")), "{retry}");
    let detail = w.admin.ok("get_run", &[("run_id", &first.to_string())]).await;
    assert_eq!((detail["retried_by"].clone(), detail["retryable"].clone()), (retry["run_id"].clone(), json!(false)), "{detail}");
    let (_, twice) = w.admin.err("retry_run", &[("run_id", &first.to_string())]).await;
    assert!(matches!(&twice, AppError::Conflict(m) if m.contains("already retried")), "{twice:?}");
    let (_, nothing) = w.admin.err("retry_run", &[("run_id", &retry["run_id"].to_string())]).await;
    assert!(matches!(&nothing, AppError::Conflict(m) if m.contains("Nothing failed")), "{nothing:?}");
    // Another partner cannot retry it.
    let other = w.app.partner("Elsewhere").await;
    let them = w.app.signed_in(&other.email, &other.password).await;
    assert_eq!(them.err("retry_run", &[("run_id", &first.to_string())]).await.1, AppError::NotFound);
}

async fn the_list_pages_by_cursor_and_stays_within_the_partner(backend: Backend) {
    let w = World::new(backend, "Paging", None).await;
    let db = &w.app.state.db;
    let now = server::db::now_ms();
    // 60 runs straight into the store, the tenth with a failed line.
    for i in 0..60 {
        let failed = i64::from(i == 9);
        let run = server::db::history::NewRun {
            partner_id: w.partner.partner_id,
            kind: RunKind::Sync,
            started_by: "schedule",
            started_at: now - 60_000 + i,
            finished_at: now - 60_000 + i + 5,
            outcome: if failed == 1 { RunOutcome::Partial } else { RunOutcome::Ok },
            done: 3,
            skipped: 0,
            failed,
            summary: &format!("Round {i}"),
            retry_of: None,
            log_key: "",
        };
        let l = (failed == 1).then(|| RunLine::failed(None, "Globex", "Company 7", "Autotask said 404")).into_iter().collect::<Vec<_>>();
        server::db::history::insert(db, &run, &l).await.unwrap();
    }
    let first = w.admin.ok_json("list_runs", &json!({"query": {}})).await;
    let rows = first["rows"].as_array().unwrap();
    assert_eq!((rows.len(), rows[0]["summary"].as_str(), first["newer"].as_i64()), (50, Some("Round 59"), None), "{first}");
    assert_eq!(rows[0]["trigger"], "Schedule");
    let older = first["older"].as_i64().expect("an older page");
    let second = w.admin.ok_json("list_runs", &json!({"query": {"before": older}})).await;
    let rows2 = second["rows"].as_array().unwrap();
    assert_eq!((rows2.len(), rows2[0]["summary"].as_str(), second["older"].as_i64()), (10, Some("Round 9"), None), "{second}");
    let newer = second["newer"].as_i64().expect("a newer page");
    let back = w.admin.ok_json("list_runs", &json!({"query": {"after": newer}})).await;
    assert_eq!(back["rows"], first["rows"], "newer from the second page is the first again");
    assert_eq!(back["newer"], Value::Null);
    let partial = w.admin.ok_json("list_runs", &json!({"query": {"outcome": "partial", "trigger": "schedule"}})).await;
    assert_eq!(partial["rows"].as_array().map(Vec::len), Some(1));

    // Another partner sees none of it: not in its list, not by id, not as CSV.
    let other = w.app.partner("Other").await;
    let them = w.app.signed_in(&other.email, &other.password).await;
    assert_eq!(them.ok_json("list_runs", &json!({"query": {}})).await["rows"], json!([]));
    let run_id = rows[0]["run_id"].to_string();
    assert_eq!(them.err("get_run", &[("run_id", &run_id)]).await.1, AppError::NotFound);
    assert_eq!(them.get(&format!("/exports/runs/{run_id}.csv")).await.status(), 404);
    // Anonymous visitors are sent to sign in.
    assert_eq!(w.app.browser().get(&format!("/exports/runs/{run_id}.csv")).await.status(), 303);
    // A customer of another partner is not found either.
    let theirs = w.app.state.db.pool.clone();
    let customer: i64 = sqlx::query_scalar("insert into customer (partner_id, name, name_key, country_code, region, source, created_at, updated_at) values ($1, 'X', 'x', 'US', 'us', 'api', 0, 0) returning customer_id")
        .bind(other.partner_id)
        .fetch_one(&theirs)
        .await
        .unwrap();
    assert_eq!(w.admin.err_json("list_runs", &json!({"query": {"customer_id": customer}})).await, AppError::NotFound);
}
