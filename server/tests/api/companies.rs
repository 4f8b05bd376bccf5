//! The Companies page's server side against the sandbox: discovery with progress, the
//! list's search, filters and paging, and import under every seed rule, on both
//! databases.

use crate::helpers::{both_databases, Backend, Browser};
use crate::world::World;
use app::error::AppError;
use sandbox::api::{INTEGRATION_CODE, SECRET, USERNAME};
use serde_json::{json, Value};
use std::time::Duration;

both_databases!(
    discovery_brings_every_company_with_progress_and_again_without_duplicates,
    import_applies_every_rule_row_by_row_and_is_idempotent,
    the_list_searches_filters_sorts_and_pages,
    imports_and_discoveries_are_guarded,
    an_inactive_primary_contact_fails_the_preview_and_the_import_alike,
    import_links_the_existing_customer_of_the_same_name_and_the_plan_says_so_first,
);

/// A world connected to a sandbox of `companies` companies (seed 21).
async fn connected(backend: Backend, companies: usize) -> World {
    World::new(backend, "Companies", World::sandbox(21, companies)).await
}

/// Polls a job until it stops running; returns it and the progress states seen.
async fn wait(browser: &Browser, job: &Value) -> (Value, Vec<Value>) {
    let id = job["job_id"].as_i64().unwrap().to_string();
    let mut seen = vec![job.clone()];
    for _ in 0..600 {
        let now = browser.ok("get_job", &[("job_id", &id)]).await;
        seen.push(now.clone());
        if now["state"] != "running" {
            return (now, seen);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish: {:?}", seen.last());
}

async fn discover(browser: &Browser) -> (Value, Vec<Value>) {
    let job = browser.ok("start_discovery", &[]).await;
    assert_eq!(job["kind"], "discover");
    wait(browser, &job).await
}

async fn list(browser: &Browser, query: Value) -> Value {
    let mut q = json!({"filter": {}, "sort": "name", "page": 1, "per_page": 50});
    if let (Some(base), Some(over)) = (q.as_object_mut(), query.as_object()) {
        for (k, v) in over {
            base.insert(k.clone(), v.clone());
        }
    }
    browser.ok_json("list_companies", &json!({ "query": q })).await
}

async fn import(browser: &Browser, selection: Value) -> Value {
    let job = browser.ok_json("import_companies", &json!({ "selection": selection })).await;
    assert_eq!(job["kind"], "import");
    let (done, _) = wait(browser, &job).await;
    assert_eq!(done["state"], "done", "{done}");
    done
}

fn row(page: &Value, id: i64) -> Value {
    page["rows"].as_array().unwrap().iter().find(|r| r["company_id"] == id).cloned().unwrap_or_else(|| panic!("company {id} not listed: {page}"))
}

async fn discovery_brings_every_company_with_progress_and_again_without_duplicates(backend: Backend) {
    // More than one page (500) so the parallel id-range fetch runs.
    let w = connected(backend, 1_300).await;
    let (app, admin) = (&w.app, &w.admin);
    let before = list(admin, json!({})).await;
    assert_eq!(before["discovered"], 0);
    let (done, seen) = discover(admin).await;
    assert_eq!(done["state"], "done", "{done}");
    let page = list(admin, json!({})).await;
    assert_eq!(page["discovered"], 1_301, "every company, the partner's own included");
    assert_eq!(page["total"], 1_301);
    assert!(done["message"].as_str().unwrap().starts_with("Discovered 1301 companies in Autotask (1301 new)"), "{done}");
    assert!(page["discovered_at"].as_i64().is_some());
    // Progress was visible while it ran: a stage with counts, or at least the job running.
    assert!(seen.iter().any(|j| j["state"] == "running"), "{seen:?}");
    let labels: Vec<&str> = page["types"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"Customer") && labels.contains(&"Prospect"), "{labels:?}");

    // A company renamed and one deleted in Autotask: the next discovery follows.
    let at = w.autotask();
    let first_id = page["rows"][0]["company_id"].as_i64().unwrap();
    at.patch("Companies", &json!({"id": first_id, "companyName": "Renamed By Autotask Ltd"})).await.unwrap();
    let (again, _) = discover(admin).await;
    assert_eq!(again["state"], "done");
    assert!(again["message"].as_str().unwrap().starts_with("Discovered 1301 companies in Autotask (0 new)"), "{again}");
    let page = list(admin, json!({"filter": {"search": first_id.to_string()}})).await;
    assert_eq!(row(&page, first_id)["name"], "Renamed By Autotask Ltd");
    let n: i64 = sqlx::query_scalar("select count(*) from autotask_company").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(n, 1_301, "no duplicates after a second discovery");
    // Each discovery is one run in the History, with the job's summary.
    let runs = admin.ok_json("list_runs", &json!({"query": {"kind": "discover"}})).await;
    let rows = runs["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{runs}");
    assert_eq!((&rows[0]["summary"], &rows[1]["summary"]), (&again["message"], &done["message"]), "{runs}");
    assert!(rows.iter().all(|r| r["outcome"] == "Ok" && r["started_by"] == w.partner.email.as_str()), "{runs}");
}

async fn import_applies_every_rule_row_by_row_and_is_idempotent(backend: Backend) {
    let w = connected(backend, 30).await;
    let (app, admin, at) = (&w.app, &w.admin, w.autotask());
    // One company per rule, made through the Autotask API.
    let owner = 29_682_885;
    let make = |name: &str, extra: Value| {
        let mut body = json!({"companyName": name, "companyType": 1, "ownerResourceID": owner, "isActive": true});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let good = at
        .create(
            "Companies",
            &make("Rule Good Dental Inc", json!({"address1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701", "countryID": 237})),
        )
        .await
        .unwrap();
    let bad_state = at
        .create(
            "Companies",
            &make("Rule Texas Spelled Out LLC", json!({"address1": "2 Main St", "city": "Austin", "state": "Texas", "countryID": 237})),
        )
        .await
        .unwrap();
    let no_address = at.create("Companies", &make("Rule Berlin GmbH", json!({"countryID": 84}))).await.unwrap();
    let no_country =
        at.create("Companies", &make("Rule Nowhere Co.", json!({"address1": "3 Elm St", "city": "Albany", "state": "NY"}))).await.unwrap();
    let no_contact = at
        .create("Companies", &make("Rule Lonely Ltd", json!({"countryID": 236, "city": "London", "state": "LND", "address1": "4 High St"})))
        .await
        .unwrap();
    let no_email = at
        .create("Companies", &make("Rule No Email Pty Ltd", json!({"countryID": 14, "city": "Sydney", "state": "NSW", "address1": "5 George St"})))
        .await
        .unwrap();
    for (company, first, last, email) in [
        (good, "Ana", "García", Some("ana@good.example")),
        (bad_state, "Ben", "Ortiz", Some("ben@texas.example")),
        (no_address, "Jürgen", "Schäfer", Some("j.schaefer@berlin.example")),
        (no_country, "Mary", "O'Neil", Some("mary@nowhere.example")),
        (no_email, "Kylie", "Jones", None),
    ] {
        let mut contact = json!({"firstName": first, "lastName": last, "isActive": 1, "primaryContact": true});
        if let Some(e) = email {
            contact["emailAddress"] = json!(e);
        }
        at.create_child("Companies", company, "Contacts", "Contacts", &contact).await.unwrap();
    }
    // A secondary contact is not a primary contact.
    at.create_child(
        "Companies",
        no_contact,
        "Contacts",
        "Contacts",
        &json!({"firstName": "Sec", "lastName": "Ondary", "emailAddress": "s@lonely.example", "isActive": 1, "primaryContact": false}),
    )
    .await
    .unwrap();

    let (done, _) = discover(admin).await;
    assert_eq!(done["state"], "done", "{done}");
    // Before importing, the list already says which rows would fail and why.
    let page = list(admin, json!({"filter": {"search": "Rule "}, "per_page": 200})).await;
    assert_eq!(page["total"], 6, "{page}");
    assert_eq!(row(&page, good)["problem"], Value::Null);
    assert!(row(&page, bad_state)["problem"].as_str().unwrap().contains("ISO 3166-2"));

    let ids = json!([good, bad_state, no_address, no_country, no_contact, no_email]);
    let job = import(admin, json!({"ids": ids})).await;
    assert_eq!((job["succeeded"].as_i64(), job["failed"].as_i64()), (Some(3), Some(3)), "{job}");
    assert!(job["message"].as_str().unwrap().contains("3 failed"), "{job}");

    let page = list(admin, json!({"filter": {"search": "Rule "}, "per_page": 200})).await;
    for id in [good, no_address, no_country] {
        assert_eq!(row(&page, id)["status"], "imported", "{}", row(&page, id));
    }
    let reason = |id: i64| row(&page, id)["reason"].as_str().unwrap_or_default().to_string();
    assert_eq!(row(&page, bad_state)["status"], "failed");
    assert!(
        reason(bad_state).contains("\u{201c}Texas\u{201d} is not an ISO 3166-2 code for United States")
            && reason(bad_state).contains("\u{201c}TX\u{201d}"),
        "{}",
        reason(bad_state)
    );
    assert!(reason(no_contact).starts_with("No primary contact"), "{}", reason(no_contact));
    assert!(reason(no_email).contains("has no email address"), "{}", reason(no_email));

    let customers = |sql: &'static str| {
        let pool = app.state.db.pool.clone();
        async move { sqlx::query(sql).fetch_all(&pool).await.unwrap() }
    };
    use sqlx::Row;
    let rows = customers("select c.name, c.address1, c.city, c.state, c.country_code, c.region, c.admin_first, c.admin_last, c.admin_email, l.company_id from customer c join customer_link l on l.customer_id = c.customer_id order by l.company_id").await;
    let got: Vec<(i64, String, String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (r.get("company_id"), r.get("name"), r.get("address1"), r.get("state"), r.get("country_code"), r.get("region"), r.get("admin_email"))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (good, "Rule Good Dental Inc".into(), "1 Main St".into(), "TX".into(), "US".into(), "us".into(), "ana@good.example".into()),
            (no_address, "Rule Berlin GmbH".into(), "".into(), "".into(), "DE".into(), "eu".into(), "j.schaefer@berlin.example".into()),
            (no_country, "Rule Nowhere Co.".into(), "3 Elm St".into(), "NY".into(), "US".into(), "us".into(), "mary@nowhere.example".into()),
        ]
    );
    let admin_name: (String, String) =
        rows.iter().find(|r| r.get::<i64, _>("company_id") == no_address).map(|r| (r.get("admin_first"), r.get("admin_last"))).unwrap();
    assert_eq!(admin_name, ("Jürgen".to_string(), "Schäfer".to_string()));

    // Fix one failure in Autotask, rediscover, import everything again: nothing is
    // duplicated, the fixed row imports, the others stay as they were.
    at.patch("Companies", &json!({"id": bad_state, "state": "TX"})).await.unwrap();
    discover(admin).await;
    let again = import(admin, json!({"matching": {"search": "Rule "}})).await;
    assert_eq!((again["succeeded"].as_i64(), again["failed"].as_i64()), (Some(4), Some(2)), "{again}");
    assert!(again["message"].as_str().unwrap().contains("(1 new, 3 updated)"), "{again}");
    let count: i64 = sqlx::query_scalar("select count(*) from customer").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(count, 4);
}

async fn the_list_searches_filters_sorts_and_pages(backend: Backend) {
    let w = connected(backend, 400).await;
    let admin = &w.admin;
    discover(admin).await;
    let all = list(admin, json!({"per_page": 200})).await;
    assert_eq!(all["total"], 401);
    assert_eq!(all["rows"].as_array().unwrap().len(), 200);
    // Sorted by name, case-insensitively.
    let names: Vec<String> = all["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let desc = list(admin, json!({"sort": "name_desc", "per_page": 5})).await;
    assert!(desc["rows"][0]["name"].as_str().unwrap().to_lowercase() >= desc["rows"][4]["name"].as_str().unwrap().to_lowercase());
    // The last page is clamped and short; pages are capped at 200 rows.
    let last = list(admin, json!({"page": 99, "per_page": 200})).await;
    assert_eq!((last["page"].as_u64(), last["rows"].as_array().unwrap().len()), (Some(3), 1));
    assert_eq!(list(admin, json!({"per_page": 5000})).await["per_page"], 200);

    // Search by part of a name (any case), or by exact id.
    let sample = all["rows"][7].clone();
    let word = sample["name"].as_str().unwrap().split_whitespace().next().unwrap().to_uppercase();
    let found = list(admin, json!({"filter": {"search": word}, "per_page": 200})).await;
    assert!(found["rows"].as_array().unwrap().iter().all(|r| r["name"].as_str().unwrap().to_uppercase().contains(&word)));
    assert!(found["rows"].as_array().unwrap().iter().any(|r| r["company_id"] == sample["company_id"]));
    let by_id = list(admin, json!({"filter": {"search": sample["company_id"].to_string()}})).await;
    assert!(by_id["rows"].as_array().unwrap().iter().any(|r| r["company_id"] == sample["company_id"]));
    // LIKE wildcards are taken literally.
    assert_eq!(list(admin, json!({"filter": {"search": "%"}})).await["total"], 0);

    // Type and active filters agree with the type counts.
    let customer_type = all["types"].as_array().unwrap().iter().find(|t| t["label"] == "Customer").unwrap().clone();
    let customers = list(admin, json!({"filter": {"company_type": customer_type["value"]}})).await;
    assert_eq!(customers["total"], customer_type["count"]);
    let inactive = list(admin, json!({"filter": {"active": false}, "per_page": 200})).await;
    assert!(inactive["total"].as_i64().unwrap() > 0);
    assert!(inactive["rows"].as_array().unwrap().iter().all(|r| r["active"] == false));
    // "Would fail" lists exactly the rows with a problem.
    let problems = list(admin, json!({"filter": {"status": "problem"}, "per_page": 200})).await;
    assert!(problems["total"].as_i64().unwrap() > 0, "the sandbox has companies that break the rules");
    assert!(problems["rows"].as_array().unwrap().iter().all(|r| r["problem"].is_string() && r["status"] == "not_imported"));
    assert_eq!(list(admin, json!({"filter": {"status": "imported"}})).await["total"], 0);
}

async fn imports_and_discoveries_are_guarded(backend: Backend) {
    let w = connected(backend, 20).await;
    let (sb, app) = (w.sandbox_running(), &w.app);
    let a = app.partner("Guard").await;
    let admin = app.signed_in(&a.email, &a.password).await;
    // Not connected yet: Discover says what to do.
    let (_, not_connected) = admin.err("start_discovery", &[]).await;
    assert!(matches!(not_connected, AppError::Conflict(ref m) if m.contains("not connected")), "{not_connected:?}");
    admin
        .ok("save_autotask_connection", &[("username", USERNAME), ("secret", SECRET), ("integration_code", INTEGRATION_CODE), ("zone_override", "")])
        .await;
    let (job, _) = discover(&admin).await;
    // Selections are checked.
    assert!(
        matches!(admin.err_json("import_companies", &json!({"selection": {"ids": []}})).await, AppError::Invalid { ref field, .. } if field == "selection")
    );
    let unknown = admin.err_json("import_companies", &json!({"selection": {"ids": [999_999_999]}})).await;
    assert!(matches!(unknown, AppError::Invalid { ref message, .. } if message.contains("999999999") && message.contains("Discover")), "{unknown:?}");
    let none = admin.err_json("import_companies", &json!({"selection": {"matching": {"search": "no such company anywhere"}}})).await;
    assert!(matches!(none, AppError::Invalid { .. }), "{none:?}");
    // Technicians see the list and jobs but cannot discover or import.
    admin.ok("create_user", &[("email", "tech@guard.example"), ("name", "Tech"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = app.signed_in("tech@guard.example", "tech-password-long").await;
    assert_eq!(list(&tech, json!({})).await["total"], 21);
    assert_eq!(tech.err("start_discovery", &[]).await.1, AppError::Forbidden);
    assert_eq!(tech.err_json("import_companies", &json!({"selection": {"ids": [1]}})).await, AppError::Forbidden);
    // Another partner sees none of it.
    let b = app.partner("Other").await;
    let other = app.signed_in(&b.email, &b.password).await;
    assert_eq!(list(&other, json!({})).await["discovered"], 0);
    let job_id = job["job_id"].as_i64().unwrap().to_string();
    assert_eq!(other.err("get_job", &[("job_id", &job_id)]).await.1, AppError::NotFound);
    assert_eq!(other.ok("latest_company_jobs", &[]).await, json!([null, null]));
    // One discovery at a time: a second start while one runs is refused with who started it.
    sb.sandbox.set_faults(sandbox::faults::Faults { latency_ms: 300, ..Default::default() });
    let running = admin.ok("start_discovery", &[]).await;
    let (_, twice) = admin.err("start_discovery", &[]).await;
    assert!(matches!(twice, AppError::Conflict(ref m) if m.contains("already running") && m.contains(&a.email)), "{twice:?}");
    sb.sandbox.set_faults(sandbox::faults::Faults::default());
    wait(&admin, &running).await;
}

/// A company whose only primary contact is inactive in Autotask: the list says it would
/// fail, and the import fails it for the same reason, creating no customer (seed 000:
/// the primary contact must be active).
async fn an_inactive_primary_contact_fails_the_preview_and_the_import_alike(backend: Backend) {
    let w = connected(backend, 5).await;
    let (admin, at) = (&w.admin, w.autotask());
    let company = at
        .create(
            "Companies",
            &json!({"companyName": "Rule Dormant Dental Inc", "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true,
                "address1": "1 Main St", "city": "Austin", "state": "TX", "countryID": 237}),
        )
        .await
        .unwrap();
    let contact = json!({"firstName": "Dana", "lastName": "Doe", "emailAddress": "dana@dormant.example", "isActive": 0, "primaryContact": true});
    at.create_child("Companies", company, "Contacts", "Contacts", &contact).await.unwrap();
    let (done, _) = discover(admin).await;
    assert_eq!(done["state"], "done", "{done}");
    let page = list(admin, json!({"filter": {"search": "Rule Dormant"}})).await;
    let preview = row(&page, company)["problem"].as_str().unwrap_or_default().to_string();
    assert!(preview.contains("(Dana Doe) is inactive in Autotask"), "{page}");

    let job = import(admin, json!({"ids": [company]})).await;
    assert_eq!((job["succeeded"].as_i64(), job["failed"].as_i64()), (Some(0), Some(1)), "{job}");
    let page = list(admin, json!({"filter": {"search": "Rule Dormant"}})).await;
    let after = row(&page, company);
    assert_eq!(after["status"], "failed", "{after}");
    assert_eq!(after["reason"].as_str(), Some(preview.as_str()), "the import says what the preview said: {after}");
    let customers: i64 =
        sqlx::query_scalar("select count(*) from customer where name = 'Rule Dormant Dental Inc'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(customers, 0);
}

/// A company whose name an unlinked customer already bears is linked to that customer,
/// not imported as a second one; two such customers are a question for the partner (the
/// row fails saying so). The confirmation's plan counts exactly what the import does.
async fn import_links_the_existing_customer_of_the_same_name_and_the_plan_says_so_first(backend: Backend) {
    let w = connected(backend, 3).await;
    let (admin, at) = (&w.admin, w.autotask());
    let mut ids = Vec::new();
    for name in ["Alpenglühen IT LLC", "Zenith Redwood L.L.C.", "Brand New Dental"] {
        let body = json!({"companyName": name, "companyType": 1, "ownerResourceID": 29_682_885, "isActive": true,
            "address1": "1 Main St", "city": "Austin", "state": "TX", "countryID": 237, "phone": "+1 512 555 0100", "webAddress": "www.alpen.example"});
        let company = at.create("Companies", &body).await.unwrap();
        let contact =
            json!({"firstName": "Pat", "lastName": "Lee", "emailAddress": format!("pat{company}@x.example"), "isActive": 1, "primaryContact": true});
        at.create_child("Companies", company, "Contacts", "Contacts", &contact).await.unwrap();
        ids.push(company);
    }
    let (done, _) = discover(admin).await;
    assert_eq!(done["state"], "done", "{done}");
    // The list shows how to reach each company.
    let alpen = row(&list(admin, json!({"filter": {"search": "Alpenglühen IT"}})).await, ids[0]);
    assert_eq!((alpen["phone"].as_str(), alpen["web"].as_str()), (Some("+1 512 555 0100"), Some("www.alpen.example")), "{alpen}");
    // Made on the backup platform before Autotask was connected; one name twice, another
    // in other letter case.
    let made = w.register(&[("bp-1", "alpenglühen it llc"), ("bp-2", "Zenith Redwood L.L.C."), ("bp-3", "Zenith Redwood L.L.C.")]).await;

    let selection = json!({"ids": ids});
    let plan = admin.ok_json("plan_import", &json!({ "selection": selection })).await;
    assert_eq!(plan, json!({"total": 3, "create": 1, "update": 0, "link": 1, "fail": 1}), "{plan}");
    let before: i64 = sqlx::query_scalar("select count(*) from customer").fetch_one(&w.app.state.db.pool).await.unwrap();

    let job = import(admin, selection.clone()).await;
    assert_eq!((job["succeeded"].as_i64(), job["failed"].as_i64()), (Some(2), Some(1)), "{job}");
    assert!(job["message"].as_str().unwrap_or_default().contains("1 new, 0 updated, 1 linked"), "{job}");
    let after: i64 = sqlx::query_scalar("select count(*) from customer").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(after, before + 1, "only Brand New Dental is a new customer");
    let linked: Vec<(i64, i64)> =
        sqlx::query_as("select company_id, customer_id from customer_link order by company_id").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert!(linked.contains(&(ids[0], made[0])), "the existing customer is linked: {linked:?}");
    let name: String =
        sqlx::query_scalar("select name from customer where customer_id = $1").bind(made[0]).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(name, "alpenglühen it llc", "its own details are kept");
    let page = list(admin, json!({"filter": {"search": "Zenith Redwood"}})).await;
    let zenith = row(&page, ids[1]);
    assert_eq!(zenith["status"], "failed", "{zenith}");
    assert!(zenith["reason"].as_str().unwrap().contains("2 Taskbridge customers without a link are named"), "{zenith}");
    // The History holds the import as one partly failed run, with the failing company's reason.
    let runs = admin.ok_json("list_runs", &json!({"query": {"kind": "import"}})).await;
    assert_eq!(runs["rows"].as_array().map(Vec::len), Some(1), "{runs}");
    let run = &runs["rows"][0];
    assert_eq!((run["outcome"].as_str(), run["done"].as_i64(), run["failed"].as_i64()), (Some("Partial"), Some(2), Some(1)), "{run}");
    assert_eq!((run["trigger"].as_str(), run["started_by"].as_str()), (Some("User"), Some(w.partner.email.as_str())), "{run}");
    let detail = admin.ok("get_run", &[("run_id", &run["run_id"].to_string())]).await;
    let lines = detail["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{detail}");
    assert_eq!((lines[0]["outcome"].as_str(), lines[0]["customer_name"].as_str()), (Some("failed"), Some("Zenith Redwood L.L.C.")), "{detail}");
    assert_eq!(lines[0]["record"], format!("Company {}", ids[1]));
    assert_eq!(lines[0]["reason"], zenith["reason"], "the same reason as the Companies page");
    assert_eq!(detail["retryable"], true, "{detail}");

    // Fix the cause (one of the two customers is renamed), then retry just that company.
    w.register(&[("bp-3", "Zenith Redwood West")]).await;
    let first = run["run_id"].as_i64().unwrap();
    let started = admin.ok("retry_run", &[("run_id", &first.to_string())]).await;
    let (job, _) = wait(admin, &started["job"]).await;
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64(), job["total"].as_i64()),
        (Some(1), Some(0), Some(1)),
        "only the failed company: {job}"
    );
    let retry = &admin.ok_json("list_runs", &json!({"query": {"kind": "import"}})).await["rows"][0];
    assert_eq!((retry["retry_of"].as_i64(), retry["outcome"].as_str()), (Some(first), Some("Ok")), "{retry}");
    let again = admin.ok("get_run", &[("run_id", &first.to_string())]).await;
    assert_eq!((again["retried_by"].clone(), again["retryable"].clone()), (retry["run_id"].clone(), json!(false)), "{again}");
    let (_, twice) = admin.err("retry_run", &[("run_id", &first.to_string())]).await;
    assert!(matches!(&twice, AppError::Conflict(m) if m.contains("already retried")), "{twice:?}");

    // Once imported, the same selection plans updates and the link stays.
    let plan = admin.ok_json("plan_import", &json!({ "selection": selection })).await;
    assert_eq!(plan, json!({"total": 3, "create": 0, "update": 3, "link": 0, "fail": 0}), "{plan}");
}
