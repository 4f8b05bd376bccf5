//! Instant updates on both databases: Taskbridge registers its company webhook in the
//! sandbox (fields, its own API user excluded), a company edited in Autotask reaches the
//! Clients page by callout, and callouts are verified (raw and .NET-escaped signatures, a
//! wrong secret), stored once (replays and older sequence numbers do nothing), applied
//! by re-reading Autotask (never from the payload), kept across a crash, and a webhook
//! Autotask switches off after 25 failed deliveries shows as deactivated.

use crate::helpers::{both_databases, Backend, Browser};
use crate::sync::{all, client, clients};
use crate::world::World;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::Duration;

both_databases!(
    instant_updates_register_a_webhook_and_an_edit_in_autotask_reaches_the_clients_page,
    callouts_are_verified_stored_once_and_applied_from_autotask_not_the_payload,
    callouts_stored_before_a_crash_are_applied_after_it,
    a_callout_taken_by_an_instance_killed_mid_apply_is_applied_by_another,
    two_instances_never_claim_the_same_callout,
    a_callout_taskbridge_could_not_store_is_retried_by_autotask_and_applied,
    a_webhook_autotask_switches_off_shows_as_deactivated,
);

async fn switch_on(w: &World) -> Value {
    w.admin.ok_json("save_sync_settings", &json!({"input": {"customers": true, "contracts": true, "every_minutes": 60}})).await;
    let job = w.admin.ok("sync_now", &[]).await;
    assert_eq!(w.admin.finished_job(&job).await["state"], "done");
    let status = w.admin.ok("get_instant_updates", &[]).await;
    let base = status["callout_base"].as_str().unwrap().to_string();
    assert_eq!(base, w.app.url("/hooks/autotask/"));
    w.admin.ok("enable_instant_updates", &[("callout_base", &base)]).await
}

/// Polls the Clients page until `done` holds for the company's row.
async fn until_row(admin: &Browser, company_id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        if let Some(r) = client(&clients(admin, all()).await, company_id).filter(|r| done(r)) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}: {:?}", client(&clients(admin, all()).await, company_id));
}

/// Waits until `n` callouts are pending.
async fn until_pending(admin: &Browser, n: i64) {
    for _ in 0..400 {
        if admin.ok("get_instant_updates", &[]).await["pending"] == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {n} pending callouts: {}", admin.ok("get_instant_updates", &[]).await);
}

/// A company created through the API on behalf of a person (impersonated): its id.
async fn company_by_person(sb: &sandbox::RunningSandbox, body: Value) -> i64 {
    let created = reqwest::Client::new()
        .post(format!("{}/ATServicesRest/V1.0/Companies", sb.base_url()))
        .header("ApiIntegrationCode", sandbox::api::INTEGRATION_CODE)
        .header("UserName", sandbox::api::USERNAME)
        .header("Secret", sandbox::api::SECRET)
        .header("ImpersonationResourceId", sandbox::api::CONTROL_RESOURCE_ID.to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    created.json::<Value>().await.unwrap()["itemId"].as_i64().unwrap()
}

fn signed(secret: &str, text: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    format!("sha1={}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// The registered webhook as the sandbox holds it (its secret included).
async fn webhook_in_autotask(w: &World, id: i64) -> Value {
    w.autotask().query_all_raw("CompanyWebhooks", &server::autotask::Query::new([server::autotask::Filter::eq("id", id)])).await.unwrap()[0].clone()
}

async fn post_callout(url: &str, body: &str, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("X-Hook-Signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A synced company of the world's sandbox.
async fn a_synced_company(w: &World) -> i64 {
    let page = clients(&w.admin, all()).await;
    page["rows"].as_array().unwrap().iter().find(|r| r["state"] == "synced").unwrap()["company_id"].as_i64().unwrap()
}

async fn instant_updates_register_a_webhook_and_an_edit_in_autotask_reaches_the_clients_page(backend: Backend) {
    let w = World::new(backend, "Instant", World::sandbox(83, 10)).await;
    // The confirmed address must be the configured one.
    w.admin.ok_json("save_sync_settings", &json!({"input": {"customers": true, "contracts": false, "every_minutes": 60}})).await;
    let (_, refused) = w.admin.err("enable_instant_updates", &[("callout_base", "https://elsewhere.example/hooks/autotask/")]).await;
    assert!(refused.to_string().contains(&w.app.url("/hooks/autotask/")), "{refused}");
    let status = switch_on(&w).await;
    let hook = &status["webhook"];
    let id = hook["webhook_id"].as_i64().unwrap();
    assert!(hook["url"].as_str().unwrap().starts_with(&w.app.url("/hooks/autotask/")), "{status}");
    assert!(status.to_string().find("secret").is_none(), "the secret never reaches the browser: {status}");

    // In Autotask: ready, the sync's fields subscribed, Taskbridge's own API user excluded.
    let made = webhook_in_autotask(&w, id).await;
    assert_eq!(made["isReady"], true, "{made}");
    assert_eq!(made["isActive"], true);
    let at = w.autotask();
    let fields =
        at.query_all_raw("CompanyWebhookFields", &server::autotask::Query::new([server::autotask::Filter::eq("webhookID", id)])).await.unwrap();
    assert_eq!(fields.len(), server::services::sync::instant::FIELDS.len(), "{fields:?}");
    let excluded = at
        .query_all_raw("CompanyWebhookExcludedResources", &server::autotask::Query::new([server::autotask::Filter::eq("webhookID", id)]))
        .await
        .unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["resourceID"], sandbox::api::API_RESOURCE_ID);

    // A person edits a synced detail in Autotask: the callout brings it, by webhook.
    let company = a_synced_company(&w).await;
    w.edit_in_autotask("Companies", json!({"id": company, "phone": "+1 512 555 0177"})).await;
    let r = until_row(&w.admin, company, "the webhook's change", |r| r["phones"].to_string().contains("555 0177")).await;
    assert_eq!(r["trigger"], "webhook", "{r}");
    let status = w.admin.ok("get_instant_updates", &[]).await;
    assert_eq!(status["webhook"]["callouts"], 1, "{status}");
    // The polling round that reads the same change applies nothing more: once, by either trigger.
    let job = w.admin.ok("sync_now", &[]).await;
    let polled = w.admin.finished_job(&job).await;
    assert!(polled["message"].as_str().unwrap().starts_with("0 customers synced"), "{polled}");
    assert_eq!(client(&clients(&w.admin, all()).await, company).unwrap()["trigger"], "webhook");

    // A company created by a person in Autotask, and an inactive Customer made active, arrive the same way.
    let sb = w.sandbox_running();
    let new_id = company_by_person(
        sb,
        json!({"companyName": "Webhook Newco LLC", "companyType": 1, "ownerResourceID": 29_682_886, "isActive": true,
               "address1": "5 Lake Dr", "city": "Austin", "state": "TX", "postalCode": "78701", "countryID": 237}),
    )
    .await;
    let r = until_row(&w.admin, new_id, "the created company", |r| r["state"] == "synced").await;
    assert_eq!(r["trigger"], "webhook", "{r}");
    // A Lead is called out too, and applied, but not followed.
    let lead = company_by_person(sb, json!({"companyName": "Webhook Lead Inc", "companyType": 2, "ownerResourceID": 29_682_886})).await;
    for _ in 0..400 {
        if w.admin.ok("get_instant_updates", &[]).await["webhook"]["callouts"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = w.admin.ok("get_instant_updates", &[]).await;
    assert_eq!(status["webhook"]["callouts"], 3, "the Lead's callout was applied: {status}");
    assert!(client(&clients(&w.admin, all()).await, lead).is_none(), "a Lead is not followed");
    let inactive = at
        .query_all_raw(
            "Companies",
            &server::autotask::Query::new([server::autotask::Filter::eq("companyType", 1), server::autotask::Filter::eq("isActive", false)]),
        )
        .await
        .unwrap();
    let revived = inactive[0]["id"].as_i64().unwrap();
    assert!(client(&clients(&w.admin, all()).await, revived).is_none(), "an inactive company is not followed");
    w.edit_in_autotask("Companies", json!({"id": revived, "isActive": true})).await;
    let r = until_row(&w.admin, revived, "the company made active", |r| r["trigger"] == "webhook").await;
    assert_ne!(r["state"], "not_qualifying", "{r}");

    // Another partner sees none of it and cannot switch it off.
    let other = w.app.partner("Other").await;
    let other = w.app.signed_in(&other.email, &other.password).await;
    assert_eq!(other.ok("get_instant_updates", &[]).await["webhook"], Value::Null);
    // Switching off deletes the webhook in Autotask.
    let off = w.admin.ok("disable_instant_updates", &[]).await;
    assert_eq!(off["webhook"], Value::Null);
    let gone = at.query_all_raw("CompanyWebhooks", &server::autotask::Query::new([server::autotask::Filter::eq("id", id)])).await.unwrap();
    assert!(gone.is_empty(), "{gone:?}");
}

async fn callouts_are_verified_stored_once_and_applied_from_autotask_not_the_payload(backend: Backend) {
    let w = World::new(backend, "Callouts", World::sandbox(84, 10)).await;
    let status = switch_on(&w).await;
    let (id, url) = (status["webhook"]["webhook_id"].as_i64().unwrap(), status["webhook"]["url"].as_str().unwrap().to_string());
    let made = webhook_in_autotask(&w, id).await;
    let (secret, guid) = (made["secretKey"].as_str().unwrap().to_string(), made["webhookGUID"].as_str().unwrap().to_string());
    let company = a_synced_company(&w).await;
    let name_in_autotask = client(&clients(&w.admin, all()).await, company).unwrap()["name"].clone();
    let payload = |seq: i64, name: &str| {
        json!({"Action": "Update", "Guid": guid, "EntityType": "Company", "Id": company, "Fields": {"CompanyName": name},
               "EventTime": "2026-12-04T08:00:00Z", "SequenceNumber": seq, "PersonID": 29_682_886})
        .to_string()
    };

    // A wrong secret, a missing header and an unknown URL are refused.
    let body = payload(100, "Forged & Co");
    assert_eq!(post_callout(&url, &body, &signed("not-the-secret", &body)).await, 401);
    assert_eq!(post_callout(&url, &body, "").await, 401);
    assert_eq!(post_callout(&w.app.url("/hooks/autotask/no-such-key"), &body, &signed(&secret, &body)).await, 404);
    let status = w.admin.ok("get_instant_updates", &[]).await;
    assert_eq!(status["webhook"]["bad_signatures"], 2, "{status}");
    assert_eq!(status["webhook"]["callouts"], 0);

    // The .NET-escaped form verifies; its replay and an older sequence number do nothing.
    let escaped = body.replace('&', "\\u0026");
    assert_eq!(post_callout(&url, &body, &signed(&secret, &escaped)).await, 200);
    assert_eq!(post_callout(&url, &body, &signed(&secret, &escaped)).await, 200, "a replay is answered, not stored again");
    let older = payload(99, "Older");
    assert_eq!(post_callout(&url, &older, &signed(&secret, &older)).await, 200);
    until_pending(&w.admin, 0).await;
    let status = w.admin.ok("get_instant_updates", &[]).await;
    assert_eq!(status["webhook"]["callouts"], 2, "the replay is not counted: {status}");
    // Applied from Autotask, not from the payload: nothing changed there, so nothing is written.
    until_pending(&w.admin, 0).await;
    let r = client(&clients(&w.admin, all()).await, company).unwrap();
    assert_eq!((&r["name"], &r["trigger"]), (&name_in_autotask, &json!("manual")), "{r}");
    // A change Autotask has (made by Taskbridge's own, excluded, API user: no callout of
    // its own) is what a callout brings.
    w.autotask().patch("Companies", &json!({"id": company, "webAddress": "https://callout.example"})).await.unwrap();
    let next = payload(101, "Forged again");
    assert_eq!(post_callout(&url, &next, &signed(&secret, &next)).await, 200);
    let r = until_row(&w.admin, company, "the callout applied", |r| r["trigger"] == "webhook").await;
    assert_eq!((&r["name"], &r["web_address"]), (&name_in_autotask, &json!("https://callout.example")), "{r}");
    until_pending(&w.admin, 0).await;
    // Each applied batch is a webhook delivery in the History.
    let runs = w.admin.ok_json("list_runs", &json!({"query": {"kind": "webhook"}})).await;
    let rows = runs["rows"].as_array().unwrap();
    assert!(rows.len() >= 2, "{runs}");
    assert!(rows.iter().all(|r| r["started_by"] == "webhook" && r["outcome"] == "Ok"), "{runs}");
    assert!(rows[0]["summary"].as_str().unwrap().starts_with("1 callout about 1 company: 1 customer synced"), "{}", rows[0]);
    // Not JSON, correctly signed: 400.
    assert_eq!(post_callout(&url, "not json", &signed(&secret, "not json")).await, 400);
}

async fn callouts_stored_before_a_crash_are_applied_after_it(backend: Backend) {
    let mut w = World::new(backend, "Crash", World::sandbox(85, 10)).await;
    let status = switch_on(&w).await;
    let id = status["webhook"]["webhook_id"].as_i64().unwrap();
    // Callouts are stored, but this instance dies before applying them.
    w.app.stop_callouts();
    let company = a_synced_company(&w).await;
    w.edit_in_autotask("Companies", json!({"id": company, "fax": "+1 512 555 0166"})).await;
    until_pending(&w.admin, 1).await;
    assert!(!client(&clients(&w.admin, all()).await, company).unwrap()["phones"].to_string().contains("0166"));
    // A new instance on the same data applies it at start.
    w.app = w.app.restart().await;
    let admin = w.app.signed_in(&w.partner.email, &w.partner.password).await;
    let r = until_row(&admin, company, "the stored callout applied after the restart", |r| r["phones"].to_string().contains("0166")).await;
    assert_eq!(r["trigger"], "webhook");
    assert_eq!(webhook_in_autotask(&w, id).await["isActive"], true);
}

async fn a_webhook_autotask_switches_off_shows_as_deactivated(backend: Backend) {
    let w = World::new(backend, "Deactivated", World::sandbox(86, 6)).await;
    let status = switch_on(&w).await;
    let id = status["webhook"]["webhook_id"].as_i64().unwrap();
    let sb = &w.sandbox_running().sandbox;
    sb.hooks.set_time_scale(0.0005).unwrap();
    // Callouts now go to an address that answers 404: 25 failed deliveries switch it off.
    let broken = w.app.url("/hooks/autotask/moved");
    w.autotask().patch("CompanyWebhooks", &json!({"id": id, "webhookUrl": broken})).await.unwrap();
    let company = a_synced_company(&w).await;
    for n in 0..25 {
        w.edit_in_autotask("Companies", json!({"id": company, "phone": format!("+1 512 555 01{n:02}")})).await;
    }
    for _ in 0..1_000 {
        if !w.admin.ok("get_instant_updates", &[]).await["webhook"]["deactivated_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = w.admin.ok("get_instant_updates", &[]).await;
    assert!(status["webhook"]["deactivated_at"].is_i64(), "{status}");
    assert_eq!(webhook_in_autotask(&w, id).await["isActive"], false);
    let logs = w.autotask().query_all_raw("WebhookEventErrorLogs", &server::autotask::Query::new([server::autotask::Filter::all()])).await.unwrap();
    assert_eq!(logs.len(), 25);
    assert!(logs[0]["errorMessage"].as_str().unwrap().contains("404"), "{:?}", logs[0]);
    // Registering again replaces the switched-off webhook.
    let again = w.admin.ok("enable_instant_updates", &[("callout_base", &w.app.url("/hooks/autotask/"))]).await;
    assert!(again["webhook"]["deactivated_at"].is_null(), "{again}");
    assert_ne!(again["webhook"]["webhook_id"], id);
}

async fn a_callout_taken_by_an_instance_killed_mid_apply_is_applied_by_another(backend: Backend) {
    let mut w = World::new(backend, "Sigkill", World::sandbox(87, 8)).await;
    let status = switch_on(&w).await;
    let (id, url) = (status["webhook"]["webhook_id"].as_i64().unwrap(), status["webhook"]["url"].as_str().unwrap().to_string());
    // Another instance (a real `taskbridge serve` process on the same data) receives the callouts.
    w.app.stop_callouts();
    let (mut child, other) = w.app.spawn_serve().await;
    let moved = url.replace(&w.app.url(""), &format!("http://{other}"));
    w.autotask().patch("CompanyWebhooks", &json!({"id": id, "webhookUrl": moved})).await.unwrap();
    // Autotask is slow, so that instance is still re-reading the company when it is killed.
    let faults = reqwest::Client::new();
    let set_latency = |ms: u64| faults.put(format!("{}/_sandbox/faults", w.sandbox_running().base_url())).json(&json!({"latency_ms": ms})).send();
    set_latency(5_000).await.unwrap();
    let company = a_synced_company(&w).await;
    w.edit_in_autotask("Companies", json!({"id": company, "alternatePhone1": "+1 512 555 0155"})).await;
    let db = &w.app.state.db.pool;
    for _ in 0..500 {
        let claimed: Option<(Option<i64>,)> =
            sqlx::query_as("select claimed_until from sync_callout where company_id = $1").bind(company).fetch_optional(db).await.unwrap();
        if claimed.is_some_and(|c| c.0.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    set_latency(0).await.unwrap();
    let applied: (Option<i64>,) =
        sqlx::query_as("select applied_at from sync_callout where company_id = $1").bind(company).fetch_one(db).await.unwrap();
    assert_eq!(applied.0, None, "killed before it applied the callout");
    // Once its claim has run out, this instance applies it.
    let now = server::db::now_ms();
    assert_eq!(w.app.state.sync.apply_callouts(now).await.unwrap(), 0, "the dead instance's claim holds a while");
    assert_eq!(w.app.state.sync.apply_callouts(now + 61_000).await.unwrap(), 1);
    let r = client(&clients(&w.admin, all()).await, company).unwrap();
    assert!(r["phones"].to_string().contains("555 0155"), "{r}");
    assert_eq!(r["trigger"], "webhook");
}

async fn two_instances_never_claim_the_same_callout(backend: Backend) {
    use server::db::sync::callouts::{claim, store, NewCallout};
    let w = World::new(backend, "Claims", None).await;
    let db = &w.app.state.db;
    for n in 0..300 {
        let c = NewCallout {
            partner_id: w.partner.partner_id,
            guid: "g".into(),
            sequence: n,
            company_id: 10_000 + n,
            action: "Update".into(),
            received_at: 1,
        };
        store(db, &c).await.unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    loop {
        let (a, b, c) = tokio::join!(claim(db, 100, 1_000, 40), claim(db, 100, 1_000, 40), claim(db, 100, 1_000, 40));
        let round: Vec<i64> = [a.unwrap(), b.unwrap(), c.unwrap()].into_iter().flatten().map(|c| c.callout_id).collect();
        if round.is_empty() {
            break;
        }
        for id in round {
            assert!(seen.insert(id), "callout {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 300);
}

async fn a_callout_taskbridge_could_not_store_is_retried_by_autotask_and_applied(backend: Backend) {
    let w = World::new(backend, "Retried", World::sandbox(88, 8)).await;
    switch_on(&w).await;
    let sb = &w.sandbox_running().sandbox;
    sb.hooks.set_time_scale(0.01).unwrap();
    // The database cannot take callouts for a moment: Taskbridge answers 503, Autotask retries.
    let db = &w.app.state.db.pool;
    sqlx::query("alter table sync_callout rename to sync_callout_away").execute(db).await.unwrap();
    let company = a_synced_company(&w).await;
    w.edit_in_autotask("Companies", json!({"id": company, "alternatePhone2": "+1 512 555 0144"})).await;
    for _ in 0..500 {
        if sb.hooks.status().failed_attempts > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(sb.hooks.status().failed_attempts > 0, "{:?}", sb.hooks.status());
    sqlx::query("alter table sync_callout_away rename to sync_callout").execute(db).await.unwrap();
    let r = until_row(&w.admin, company, "the retried callout applied", |r| r["phones"].to_string().contains("555 0144")).await;
    assert_eq!(r["trigger"], "webhook");
    assert_eq!(sb.hooks.status().failed_callouts, 0, "delivered on a retry: {:?}", sb.hooks.status());
}
