//! Company webhooks over real HTTP: registered through the documented entities, delivered
//! to a real listener with Autotask's payload and signature, excluded resources honoured,
//! retried, logged and switched off as Autotask documents.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{all, sandbox, At};
use sandbox::webhooks::payload::{dotnet_escaped, sign};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET_KEY: &str = "4821937465018273";

/// A listener that records what it is sent, failing the first `fail` calls with 500.
#[derive(Default)]
struct Listener {
    received: Mutex<Vec<(String, String)>>,
    deactivations: Mutex<Vec<String>>,
    fail: AtomicUsize,
}

async fn receive(State(l): State<Arc<Listener>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if l.fail.load(Ordering::SeqCst) > 0 {
        l.fail.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let signature = headers.get("x-hook-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    l.received.lock().unwrap().push((signature, String::from_utf8(body.to_vec()).unwrap()));
    StatusCode::OK
}

async fn deactivated(State(l): State<Arc<Listener>>, body: Bytes) -> StatusCode {
    l.deactivations.lock().unwrap().push(String::from_utf8(body.to_vec()).unwrap());
    StatusCode::OK
}

async fn listen() -> (Arc<Listener>, String) {
    let state = Arc::new(Listener::default());
    let app = Router::new().route("/hook", post(receive)).route("/off", post(deactivated)).with_state(state.clone());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (state, base)
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Registers a webhook on `base` following Autotask's four steps; returns its id.
async fn register(at: &At, base: &str, fields: &[(i64, bool, bool)]) -> i64 {
    let (status, created) = at
        .post(
            "/CompanyWebhooks",
            json!({"Name": "Listener", "WebhookUrl": format!("{base}/hook"), "DeactivationUrl": format!("{base}/off"), "SecretKey": SECRET_KEY,
                   "IsActive": true, "IsSubscribedToCreateEvents": true, "IsSubscribedToUpdateEvents": true, "SendThresholdExceededNotification": false}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["itemId"].as_i64().unwrap();
    let (_, hook) = at.get(&format!("/CompanyWebhooks/{id}")).await;
    assert_eq!(hook["item"]["isReady"], false, "not ready before a subscribed field: {hook}");
    assert!(hook["item"]["webhookGUID"].as_str().is_some_and(|g| g.len() == 36), "{hook}");
    for (field, subscribed, always) in fields {
        let (status, body) = at
            .post(
                &format!("/CompanyWebhooks/{id}/Fields"),
                json!({"FieldID": field, "IsSubscribedField": subscribed, "IsDisplayAlwaysField": always}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

/// An edit made by a person in Autotask (the sandbox's control call); its status.
async fn company_edit(sb: &sandbox::RunningSandbox, body: Value) -> u16 {
    reqwest::Client::new().patch(format!("{}/_sandbox/records/Companies", sb.base_url())).json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_subscribed_change_is_called_out_signed_and_an_excluded_resource_is_not() {
    let sb = sandbox(8).await;
    let at = At::new(&sb);
    let (listener, base) = listen().await;
    // The field ids come from the picklist, as a client finds them.
    let (_, info) = at.get("/CompanyWebhookFields/entityInformation/fields").await;
    let picks = info["fields"].as_array().unwrap().iter().find(|f| f["name"] == "fieldID").unwrap()["picklistValues"].clone();
    let value =
        |label: &str| picks.as_array().unwrap().iter().find(|p| p["label"] == label).unwrap()["value"].as_str().unwrap().parse::<i64>().unwrap();
    let (name, phone, kind) = (value("Company Name"), value("Phone"), value("Company Type"));
    let id = register(&at, &base, &[(name, true, true), (phone, true, false), (kind, false, true)]).await;
    let (_, hook) = at.get(&format!("/CompanyWebhooks/{id}")).await;
    assert_eq!(hook["item"]["isReady"], true, "{hook}");
    let (status, excluded) = at.post(&format!("/CompanyWebhooks/{id}/ExcludedResources"), json!({"ResourceID": sandbox::api::API_RESOURCE_ID})).await;
    assert_eq!(status, 200, "{excluded}");

    let (_, companies) = at.post("/Companies/query", all()).await;
    let company = companies["items"][1]["id"].as_i64().unwrap();
    // An edit by a person in Autotask is called out, with the changed and always-shown fields.
    assert_eq!(company_edit(&sb, json!({"id": company, "phone": "+1 512 555 0199", "companyName": "Müller & Söhne"})).await, 200);
    until("the callout", || listener.received.lock().unwrap().len() == 1).await;
    let (signature, body) = listener.received.lock().unwrap()[0].clone();
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["Action"], "Update");
    assert_eq!(payload["Guid"], hook["item"]["webhookGUID"]);
    assert_eq!(payload["EntityType"], "Company");
    assert_eq!(payload["Id"], company);
    assert_eq!(payload["PersonID"], sandbox::api::CONTROL_RESOURCE_ID);
    assert_eq!(payload["SequenceNumber"], 1);
    assert_eq!(payload["Fields"]["Phone"], "+1 512 555 0199");
    assert_eq!(payload["Fields"]["CompanyName"], "Müller & Söhne");
    assert!(payload["Fields"]["CompanyType"].is_string(), "display-always fields ride along: {payload}");
    // Real zones sign the .NET-escaped form when it differs from the bytes sent.
    assert_ne!(sign(SECRET_KEY, &body, false), signature);
    assert_eq!(signature, sign(SECRET_KEY, &dotnet_escaped(&body), false));

    // The API user is excluded: its own write calls nothing out.
    let (status, _) = at.call(reqwest::Method::PATCH, "/Companies", Some(json!({"id": company, "phone": "+1 512 555 0142"}))).await;
    assert_eq!(status, 200);
    // An edit of an unsubscribed field calls nothing out either; the next subscribed one does, in sequence.
    assert_eq!(company_edit(&sb, json!({"id": company, "city": "Dallas"})).await, 200);
    assert_eq!(company_edit(&sb, json!({"id": company, "companyName": "Plain Name"})).await, 200);
    until("the second callout", || listener.received.lock().unwrap().len() == 2).await;
    let (signature, body) = listener.received.lock().unwrap()[1].clone();
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["SequenceNumber"], 2, "{payload}");
    assert_eq!(payload["Fields"]["CompanyName"], "Plain Name");
    assert!(payload["Fields"].get("Phone").is_none(), "an unchanged subscribed field is not sent: {payload}");
    assert_eq!(signature, sign(SECRET_KEY, &body, false), "plain bodies are signed as sent");
    until("both counted as delivered", || sb.sandbox.hooks.status().delivered == 2).await;
}

#[tokio::test]
async fn failed_callouts_are_retried_logged_and_switch_the_webhook_off_after_25() {
    let sb = sandbox(6).await;
    sb.sandbox.hooks.set_time_scale(0.001).unwrap();
    let at = At::new(&sb);
    let (listener, base) = listen().await;
    let id = register(&at, &base, &[(7, true, false)]).await;
    let (_, companies) = at.post("/Companies/query", all()).await;
    let company = companies["items"][1]["id"].as_i64().unwrap();

    // Two 500s, then success: delivered on the third attempt.
    listener.fail.store(2, Ordering::SeqCst);
    assert_eq!(company_edit(&sb, json!({"id": company, "companyName": "Retried Co"})).await, 200);
    until("the retried callout", || listener.received.lock().unwrap().len() == 1).await;
    until("it counted as delivered", || sb.sandbox.hooks.status().delivered == 1).await;
    assert_eq!(sb.sandbox.hooks.status().failed_attempts, 2);

    // Five failures make an error-log entry; 25 failed callouts switch the webhook off.
    listener.fail.store(usize::MAX / 2, Ordering::SeqCst);
    assert_eq!(company_edit(&sb, json!({"id": company, "companyName": "Failing 0"})).await, 200);
    until("the first error-log entry", || sb.sandbox.hooks.status().failed_callouts == 1).await;
    assert_eq!(sb.sandbox.hooks.status().failed_attempts, 2 + 5);
    let (_, logs) = at.post("/WebhookEventErrorLogs/query", all()).await;
    let entry = &logs["items"][0];
    assert_eq!(entry["accountWebhookID"], id, "{logs}");
    assert!(entry["errorMessage"].as_str().unwrap().contains("500"), "{entry}");
    assert!(entry["payload"].as_str().unwrap().contains("Failing 0"), "{entry}");
    for n in 1..25 {
        assert_eq!(company_edit(&sb, json!({"id": company, "companyName": format!("Failing {n}")})).await, 200);
    }
    until("the deactivation notice", || listener.deactivations.lock().unwrap().len() == 1).await;
    let notice: Value = serde_json::from_str(&listener.deactivations.lock().unwrap()[0]).unwrap();
    assert_eq!(notice["Action"], "Deactivated");
    let (_, hook) = at.get(&format!("/CompanyWebhooks/{id}")).await;
    assert_eq!(hook["item"]["isActive"], false, "{hook}");
    assert_eq!(hook["item"]["webhookGUID"], notice["Guid"]);
    let (_, count) = at.post("/WebhookEventErrorLogs/query/count", all()).await;
    assert_eq!(count["queryCount"], 25);
}

#[tokio::test]
async fn two_webhooks_of_one_url_get_one_callout_and_deleting_a_webhook_removes_its_fields() {
    let sb = sandbox(6).await;
    let at = At::new(&sb);
    let (listener, base) = listen().await;
    let first = register(&at, &base, &[(7, true, false)]).await;
    let _second = register(&at, &base, &[(7, true, false)]).await;
    let (_, companies) = at.post("/Companies/query", all()).await;
    let company = companies["items"][1]["id"].as_i64().unwrap();
    assert_eq!(company_edit(&sb, json!({"id": company, "companyName": "Once Only"})).await, 200);
    until("the callout", || listener.received.lock().unwrap().len() == 1).await;
    // A create through the API (by a person impersonated) is called out as Create.
    let created = at
        .client
        .post(format!("{}/Companies", at.base))
        .header("ApiIntegrationCode", sandbox::api::INTEGRATION_CODE)
        .header("UserName", sandbox::api::USERNAME)
        .header("Secret", sandbox::api::SECRET)
        .header("ImpersonationResourceId", sandbox::api::CONTROL_RESOURCE_ID.to_string())
        .json(&json!({"companyName": "Fresh Co", "companyType": 1, "ownerResourceID": 29_682_886}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    until("the create callout", || listener.received.lock().unwrap().len() == 2).await;
    let payload: Value = serde_json::from_str(&listener.received.lock().unwrap()[1].1).unwrap();
    assert_eq!(payload["Action"], "Create");
    assert_eq!(payload["Fields"]["CompanyName"], "Fresh Co");

    let (status, _) = at.call(reqwest::Method::DELETE, &format!("/CompanyWebhooks/{first}"), None).await;
    assert_eq!(status, 200);
    let (_, fields) = at.get(&format!("/CompanyWebhooks/{first}/Fields")).await;
    assert_eq!(fields["items"].as_array().unwrap().len(), 0, "{fields}");
    let (_, left) = at.post("/CompanyWebhookFields/query", all()).await;
    assert_eq!(left["items"].as_array().unwrap().len(), 1, "the other webhook's field stays: {left}");
}
