//! The customer and contract sync against the sandbox, on both databases: the first round
//! follows every active Customer (never a Lead, never an inactive one) and creates or
//! links their customers; later rounds read only what changed and apply it once; a
//! company that stops qualifying is marked, not deleted; contracts carry their vendor and
//! overall cost; the polling schedule starts due rounds once; a round over half the
//! hourly budget is skipped and says so.

use crate::helpers::{both_databases, Backend, Browser};
use crate::world::World;
use app::types::money::Money;
use sandbox::SandboxConfig;
use serde_json::{json, Value};
use server::autotask::entities::{Company, ContractServiceUnit};
use server::autotask::{Filter, Query};
use std::collections::HashSet;

both_databases!(
    the_first_round_follows_active_customers_and_later_rounds_apply_only_what_changed,
    a_customer_of_the_same_name_is_linked_not_duplicated_and_a_hand_edit_shows_what_the_sync_overwrites,
    contracts_carry_their_vendor_and_the_current_period_cost,
    the_schedule_starts_due_rounds_once_and_a_busy_budget_skips_the_round,
    settings_are_checked_and_sync_needs_a_type_switched_on,
    the_machine_api_feeds_synced_customers_with_their_contracts_and_their_changes,
);

async fn settings(admin: &Browser, customers: bool, contracts: bool, every: i64) -> Value {
    admin.ok_json("save_sync_settings", &json!({"input": {"customers": customers, "contracts": contracts, "every_minutes": every}})).await
}

async fn sync_now(admin: &Browser) -> Value {
    let job = admin.ok("sync_now", &[]).await;
    assert_eq!(job["kind"], "sync", "{job}");
    let done = admin.finished_job(&job).await;
    assert_eq!(done["state"], "done", "{done}");
    done
}

/// A page of the Clients list under `filter` (the sync's other test files use it too).
pub(crate) async fn clients(admin: &Browser, filter: Value) -> Value {
    admin.ok_json("list_clients", &json!({"query": {"filter": filter, "page": 1, "per_page": 200}})).await
}

/// The filter that lists every followed company.
pub(crate) fn all() -> Value {
    json!({"q": "", "state": null, "has_contracts": null})
}

/// The company's row on a Clients page.
pub(crate) fn client(page: &Value, company_id: i64) -> Option<Value> {
    page["rows"].as_array().unwrap().iter().find(|r| r["company_id"] == company_id).cloned()
}

fn company(name: &str, kind: i64) -> Value {
    json!({"companyName": name, "companyType": kind, "ownerResourceID": 29_682_885, "isActive": true, "address1": "1 Main St",
           "city": "Austin", "state": "TX", "postalCode": "78701", "countryID": 237, "phone": "+1 512 555 0100"})
}

/// The sandbox's active Customers, as Autotask lists them.
async fn active_customers(w: &World) -> Vec<Company> {
    w.autotask().fetch_all(vec![Filter::eq("companyType", 1), Filter::eq("isActive", true)]).await.unwrap()
}

async fn the_first_round_follows_active_customers_and_later_rounds_apply_only_what_changed(backend: Backend) {
    let w = World::new(backend, "Sync", World::sandbox(71, 14)).await;
    let (admin, at) = (&w.admin, w.autotask());
    let saved = settings(admin, true, false, 5).await;
    assert_eq!(saved["input"]["customers"], true);
    let expected = active_customers(&w).await;
    assert!(expected.len() >= 5, "the seed should have active customers: {}", expected.len());

    let done = sync_now(admin).await;
    let page = clients(admin, all()).await;
    assert_eq!(page["total"].as_u64(), Some(expected.len() as u64), "exactly the active Customers are followed: {page}");
    let synced: Vec<&Value> = page["rows"].as_array().unwrap().iter().filter(|r| r["state"] == "synced").collect();
    assert!(!synced.is_empty(), "{page}");
    for row in &synced {
        assert!(row["customer_id"].as_i64().is_some(), "a synced company has its customer: {row}");
        assert_eq!(row["trigger"], "manual");
    }
    for row in page["rows"].as_array().unwrap().iter().filter(|r| r["state"] != "synced") {
        assert!(row["reason"].as_str().is_some_and(|r| !r.is_empty()), "a company not synced says why: {row}");
    }
    let message = done["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{} customer", synced.len())), "{message}");
    // Emails come from the primary contacts (Autotask's company has no email of its own).
    assert!(synced.iter().any(|r| r["email"].as_str().is_some_and(|e| e.contains('@'))), "{page}");

    // The customers are on the Customer Map, linked to their companies.
    let some = synced[0];
    let map = admin.ok_json("map_customers", &json!({"query": {"search": some["name"], "customers": "matched", "page": 1, "per_page": 50}})).await;
    let text = map.to_string();
    assert!(text.contains(&some["company_id"].to_string()), "the map links the synced customer to its company: {map}");

    // Nothing changed: a second round writes nothing.
    let again = sync_now(admin).await;
    assert!(again["message"].as_str().unwrap().starts_with("0 customers synced"), "{again}");

    // An edit of a synced detail, a new Customer, a new Lead, a company made inactive.
    let edited = synced[0]["company_id"].as_i64().unwrap();
    at.patch("Companies", &json!({"id": edited, "phone": "+1 512 555 0199", "webAddress": "https://edited.example"})).await.unwrap();
    let new_customer = at.create("Companies", &company("Sync Test Newco LLC", 1)).await.unwrap();
    let lead = at.create("Companies", &company("Sync Test Lead Inc", 2)).await.unwrap();
    let stopping = synced[1]["company_id"].as_i64().unwrap();
    at.patch("Companies", &json!({"id": stopping, "isActive": false})).await.unwrap();

    let done = sync_now(admin).await;
    let message = done["message"].as_str().unwrap();
    assert!(message.starts_with("2 customers synced (1 new, 1 updated), 1 customer no longer active"), "{message}");
    let page = clients(admin, all()).await;
    let row = client(&page, edited).unwrap();
    let changes = row["changes"].as_str().unwrap();
    assert!(changes.contains("+1 512 555 0199") && changes.contains("edited.example"), "{row}");
    assert!(row["phones"].as_array().unwrap().iter().any(|p| p == "+1 512 555 0199"), "{row}");
    assert_eq!(row["web_address"], "https://edited.example");
    let newco = client(&page, new_customer).expect("a new Customer is followed");
    assert_eq!(newco["state"], "synced", "{newco}");
    assert!(newco["changes"].as_str().unwrap().starts_with("New"), "{newco}");
    assert!(newco["address"].as_str().unwrap().contains("Austin, TX 78701, US"), "{newco}");
    assert!(client(&page, lead).is_none(), "a Lead is not followed");
    let stopped = client(&page, stopping).unwrap();
    assert_eq!(stopped["state"], "not_qualifying", "{stopped}");
    assert!(stopped["changes"].as_str().unwrap().to_lowercase().contains("inactive"), "{stopped}");
    assert!(stopped["customer_id"].as_i64().is_some(), "its customer is kept: {stopped}");

    // The filter lists them by state; search finds by phone.
    let not_qualifying = clients(admin, json!({"q": "", "state": "not_qualifying", "has_contracts": null})).await;
    assert_eq!(not_qualifying["total"], 1, "{not_qualifying}");
    let found = clients(admin, json!({"q": "555 0199", "state": null, "has_contracts": null})).await;
    assert_eq!(found["total"], 1, "{found}");

    // Active again: it qualifies again and says so.
    at.patch("Companies", &json!({"id": stopping, "isActive": true})).await.unwrap();
    sync_now(admin).await;
    let row = client(&clients(admin, all()).await, stopping).unwrap();
    assert_eq!(row["state"], "synced", "{row}");

    // Another partner sees none of it and cannot retry it.
    let other = w.app.partner("Other").await;
    let other = w.app.signed_in(&other.email, &other.password).await;
    assert_eq!(clients(&other, all()).await["total"], 0);
    assert_eq!(other.err("retry_client_sync", &[("company_id", &edited.to_string())]).await.1, app::error::AppError::NotFound);
}

async fn a_customer_of_the_same_name_is_linked_not_duplicated_and_a_hand_edit_shows_what_the_sync_overwrites(backend: Backend) {
    let w = World::new(backend, "Sync", World::sandbox(72, 10)).await;
    let (admin, at) = (&w.admin, w.autotask());
    let id = at.create("Companies", &company("Sync Test Harbor Dental", 1)).await.unwrap();
    let twins = at.create("Companies", &company("Sync Test Twin Co", 1)).await.unwrap();
    let registered = w.register(&[("harbor-1", "Sync Test Harbor Dental"), ("twin-1", "Sync Test Twin Co"), ("twin-2", "Sync Test Twin Co")]).await;
    settings(admin, true, false, 5).await;
    sync_now(admin).await;
    let page = clients(admin, all()).await;
    let harbor = client(&page, id).unwrap();
    assert_eq!(harbor["customer_id"].as_i64(), Some(registered[0]), "the existing customer is linked, not duplicated: {harbor}");
    let twin = client(&page, twins).unwrap();
    assert_eq!(twin["state"], "skipped", "{twin}");
    assert!(twin["reason"].as_str().unwrap().contains("2 Taskbridge customers are named"), "{twin}");

    // The round's run in the History names the company and why.
    let runs = admin.ok_json("list_runs", &json!({"query": {"kind": "sync"}})).await;
    let round = runs["rows"][0].clone();
    assert_eq!((round["skipped"].as_i64(), round["outcome"].as_str()), (Some(1), Some("Ok")), "{round}");
    let detail = admin.ok("get_run", &[("run_id", &round["run_id"].to_string())]).await;
    let line = &detail["lines"][0];
    assert_eq!(
        (line["record"].as_str(), line["customer_name"].as_str()),
        (Some(format!("Company {twins}").as_str()), Some("Sync Test Twin Co")),
        "{detail}"
    );
    assert!(line["reason"].as_str().unwrap().contains("2 Taskbridge customers are named"), "{line}");
    assert_eq!(detail["retryable"], true, "a company left alone waits for a fix and a retry: {detail}");

    // Link the right twin on the Customer Map, then Retry from the History: a run linked to
    // the first re-reads just that company, and the sync keeps it up to date.
    admin.ok_json("save_customer_map", &json!({"changes": [{"op": "link", "customer_id": registered[2], "company_id": twins}]})).await;
    let started = admin.ok("retry_run", &[("run_id", &round["run_id"].to_string())]).await;
    admin.finished_job(&started["job"]).await;
    let retry = admin.ok_json("list_runs", &json!({"query": {"kind": "sync"}})).await["rows"][0].clone();
    assert_eq!(
        (retry["retry_of"].clone(), retry["done"].as_i64(), retry["skipped"].as_i64()),
        (round["run_id"].clone(), Some(1), Some(0)),
        "{retry}"
    );
    let retried = client(&clients(admin, all()).await, twins).unwrap();
    assert_eq!((retried["state"].as_str(), retried["customer_id"].as_i64()), (Some("synced"), Some(registered[2])), "{retried}");
    let again = admin.ok("retry_client_sync", &[("company_id", &twins.to_string())]).await;
    assert_eq!(again["state"], "synced", "{again}");

    // A hand edit of the customer's city shows what the next sync sets back.
    w.app.sql(&format!("update customer set city = 'Dallas' where customer_id = {}", registered[0])).await;
    let harbor = client(&clients(admin, all()).await, id).unwrap();
    let overwrites = harbor["overwrites"].as_str().unwrap_or_default();
    assert!(overwrites.contains("Dallas") && overwrites.contains("Austin"), "{harbor}");
}

async fn contracts_carry_their_vendor_and_the_current_period_cost(backend: Backend) {
    let w = World::new(backend, "Sync", World::sandbox(73, 24)).await;
    let (admin, at) = (&w.admin, w.autotask());
    // Contracts alone: the seed suggests customers too, and companies are still followed.
    let saved = settings(admin, false, true, 5).await;
    assert_eq!(saved["input"]["contracts"], true);
    sync_now(admin).await;
    let page = clients(admin, json!({"q": "", "state": null, "has_contracts": true})).await;
    assert!(page["total"].as_i64().unwrap() > 0, "{page}");
    let customers: HashSet<i64> = active_customers(&w).await.iter().map(|c| c.id).collect();
    let today = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut costed = 0;
    for row in page["rows"].as_array().unwrap() {
        assert!(customers.contains(&row["company_id"].as_i64().unwrap()));
        assert_eq!(row["customer_id"], Value::Null, "contracts alone create no customers: {row}");
        for c in row["contracts"].as_array().unwrap() {
            assert_eq!(c["vendor"], "MSP Managed Services", "{c}");
            let units: Vec<ContractServiceUnit> = at
                .query(&Query::new([
                    Filter::eq("contractID", c["contract_id"].as_i64().unwrap()),
                    Filter::lte("startDate", today.clone()),
                    Filter::gt("endDate", today.clone()),
                ]))
                .await
                .unwrap();
            let expected: Money = units.iter().map(|u| Money::from_f64(u.price.unwrap_or_default())).sum();
            assert_eq!(Money::from_f64(c["overall_cost"].as_f64().unwrap()), expected, "{c}");
            costed += usize::from(!units.is_empty());
        }
    }
    assert!(costed > 0, "some contract has services this period: {page}");

    // A contract edited in Autotask, and a new one with a vendor on its units.
    let row = &page["rows"][0];
    let company_id = row["company_id"].as_i64().unwrap();
    let contract_id = row["contracts"][0]["contract_id"].as_i64().unwrap();
    at.patch("Contracts", &json!({"id": contract_id, "contractName": "Renamed by the account manager"})).await.unwrap();
    let done = sync_now(admin).await;
    assert!(done["message"].as_str().unwrap().contains("1 contract synced (0 new, 1 updated)"), "{done}");
    let row = client(&clients(admin, all()).await, company_id).unwrap();
    let renamed = row["contracts"].as_array().unwrap().iter().find(|c| c["contract_id"] == contract_id).unwrap();
    assert_eq!(renamed["name"], "Renamed by the account manager");
    assert!(renamed["changes"].as_str().unwrap().contains("Renamed by the account manager"), "{renamed}");
}

async fn the_schedule_starts_due_rounds_once_and_a_busy_budget_skips_the_round(backend: Backend) {
    let config = SandboxConfig { hourly_threshold: 80, ..World::sandbox(74, 8).unwrap() };
    let w = World::new(backend, "Sync", Some(config)).await;
    let admin = &w.admin;
    let db = &w.app.state.db;
    let sync = server::startup::sync_service(&w.app.state);
    let now = server::db::now_ms();
    // Off: nothing is due.
    assert_eq!(server::workers::sync::try_run_once(db, &sync, now).await.unwrap(), 0);
    settings(admin, true, true, 5).await;
    // Due at once after switching on; claimed once, so a second look (another instance) starts nothing.
    assert_eq!(server::workers::sync::try_run_once(db, &sync, now).await.unwrap(), 1);
    assert_eq!(server::workers::sync::try_run_once(db, &sync, now + 1_000).await.unwrap(), 0);
    let job = admin.ok("latest_sync_job", &[]).await;
    let done = admin.finished_job(&job).await;
    assert_eq!((done["state"].as_str(), done["started_by"].as_str()), (Some("done"), Some("schedule")), "{done}");
    let s = admin.ok("get_sync_settings", &[]).await;
    assert!(s["last_outcome"] == "ok" || s["last_outcome"] == "partial", "{s}");
    assert!(s["last_message"].as_str().unwrap().contains("customers synced"), "{s}");
    let next = s["next_round_at"].as_i64().unwrap();
    assert!(next >= now + 5 * 60_000 && next < now + 5 * 60_000 + 30_000, "the next round is an interval after this one: {s}");
    // Not due before then; due after.
    assert_eq!(server::workers::sync::try_run_once(db, &sync, next - 1_000).await.unwrap(), 0);

    // Over half the hour's budget used: the round is skipped and says why.
    let at = w.autotask();
    loop {
        let t = at.threshold().await.unwrap();
        if t.current_timeframe_request_count * 2 > t.external_request_threshold {
            break;
        }
    }
    assert_eq!(server::workers::sync::try_run_once(db, &sync, next + 1).await.unwrap(), 1);
    let done = admin.finished_job(&admin.ok("latest_sync_job", &[]).await).await;
    assert!(done["message"].as_str().unwrap().starts_with("Skipped: "), "{done}");
    let s = admin.ok("get_sync_settings", &[]).await;
    assert_eq!(s["last_outcome"], "skipped", "{s}");
}

async fn settings_are_checked_and_sync_needs_a_type_switched_on(backend: Backend) {
    let w = World::new(backend, "Sync", World::sandbox(75, 4)).await;
    let admin = &w.admin;
    let s = admin.ok("get_sync_settings", &[]).await;
    assert_eq!((&s["input"]["customers"], &s["input"]["contracts"], &s["input"]["every_minutes"]), (&json!(false), &json!(false), &json!(5)));
    let refused = admin.err("sync_now", &[]).await.1;
    assert!(refused.field_message("sync").is_some_and(|m| m.contains("Setup")), "{refused:?}");
    for every in [0, 1_441] {
        let error = admin.err_json("save_sync_settings", &json!({"input": {"customers": true, "contracts": false, "every_minutes": every}})).await;
        assert!(error.field_message("every_minutes").is_some(), "{every}: {error:?}");
    }
    // Nothing was saved by the refused attempts.
    assert_eq!(admin.ok("get_sync_settings", &[]).await["input"]["customers"], false);
    // A technician sees the settings and the clients but changes nothing.
    admin.ok("create_user", &[("email", "tech@sync.example"), ("name", "Tech"), ("role", "technician"), ("password", "tech-password-long")]).await;
    let tech = w.app.signed_in("tech@sync.example", "tech-password-long").await;
    assert_eq!(tech.ok("get_sync_settings", &[]).await["input"]["every_minutes"], 5);
    clients(&tech, all()).await;
    assert_eq!(tech.err("sync_now", &[]).await.1, app::error::AppError::Forbidden);
    assert_eq!(tech.err("retry_client_sync", &[("company_id", "1")]).await.1, app::error::AppError::Forbidden);
    let refused = tech.err_json("save_sync_settings", &json!({"input": {"customers": true, "contracts": true, "every_minutes": 5}})).await;
    assert_eq!(refused, app::error::AppError::Forbidden);
}

async fn the_machine_api_feeds_synced_customers_with_their_contracts_and_their_changes(backend: Backend) {
    let w = World::new(backend, "Sync", World::sandbox(76, 12)).await;
    let (admin, at) = (&w.admin, w.autotask());
    settings(admin, true, true, 5).await;
    sync_now(admin).await;
    let followed = clients(admin, all()).await["total"].as_u64().unwrap();
    let settle = std::time::Duration::from_millis(server::machine_api::feed::SETTLE_MS as u64 + 200);
    tokio::time::sleep(settle).await;
    // Page by page from the beginning: every followed company once.
    let (mut cursor, mut seen, mut pages) = (String::new(), Vec::new(), 0);
    loop {
        let (status, page) = w.api_get(&format!("/api/v1/customers?limit=3&changed_since={cursor}")).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["customers"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().unwrap().to_string();
        pages += 1;
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(seen.len() as u64, followed, "{seen:?}");
    assert!(pages > 1);
    let ids: HashSet<i64> = seen.iter().map(|c| c["autotask_company_id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), seen.len(), "no company twice");
    let with_contracts = seen.iter().find(|c| !c["contracts"].as_array().unwrap().is_empty()).expect("a customer with contracts");
    assert_eq!(with_contracts["contracts"][0]["vendor"], "MSP Managed Services");
    assert!(with_contracts["contracts"][0]["overall_cost"].is_number());
    let synced = seen.iter().find(|c| c["sync_state"] == "synced").unwrap();
    assert!(synced["customer_id"].is_i64() && synced["active"] == true, "{synced}");

    // Nothing new: an empty page and the same cursor.
    let (_, none) = w.api_get(&format!("/api/v1/customers?changed_since={cursor}")).await;
    assert_eq!((none["customers"].as_array().unwrap().len(), none["next_cursor"].as_str()), (0, Some(cursor.as_str())), "{none}");
    // A change in Autotask comes through once synced.
    let company = synced["autotask_company_id"].as_i64().unwrap();
    at.patch("Companies", &json!({"id": company, "fax": "+1 512 555 0111"})).await.unwrap();
    sync_now(admin).await;
    tokio::time::sleep(settle).await;
    let (_, changed) = w.api_get(&format!("/api/v1/customers?changed_since={cursor}")).await;
    let changed = changed["customers"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!((changed[0]["autotask_company_id"].as_i64(), changed[0]["fax"].as_str()), (Some(company), Some("+1 512 555 0111")));
    // Bad parameters name themselves; another partner's token sees nothing of these.
    let (status, body) = w.api_get("/api/v1/customers?changed_since=soon").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("changed_since")), "{body}");
    let other = w.app.partner("Other").await;
    let other = w.app.signed_in(&other.email, &other.password).await;
    let token = other.ok("create_api_token", &[("name", "Other platform")]).await["token"].as_str().unwrap().to_string();
    let r = reqwest::Client::new().get(w.app.url("/api/v1/customers")).bearer_auth(token).send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["customers"], json!([]), "{body}");
}
