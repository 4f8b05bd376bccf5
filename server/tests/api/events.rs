//! `POST /api/v1/events`: validation naming the field, idempotency by the sender's id,
//! durable storage before the answer, batches answered per event, and tenancy.

use crate::helpers::{both_databases, Backend};
use crate::world::World;
use serde_json::{json, Value};

both_databases!(
    an_event_is_stored_once_whatever_how_often_it_is_sent,
    a_batch_is_answered_per_event_with_the_field_at_fault,
    events_only_reach_the_tokens_own_customers,
);

async fn platform(backend: Backend) -> World {
    let w = World::new(backend, "Events", None).await;
    w.register(&[("cust-1", "Acme Dental")]).await;
    w
}

impl World {
    async fn send_events(&self, body: Value) -> (u16, Value) {
        self.api("/api/v1/events", &body).await
    }
    async fn stored(&self) -> i64 {
        sqlx::query_scalar("select count(*) from event").fetch_one(&self.app.state.db.pool).await.unwrap()
    }
}

fn event(id: &str) -> Value {
    json!({"id": id, "customer_ref": "cust-1", "device": "FS01", "job": "Nightly", "type": "backup_failed", "severity": "error", "message": "VSS snapshot failed", "occurred_at": "2026-11-22T03:12:00Z"})
}

async fn an_event_is_stored_once_whatever_how_often_it_is_sent(backend: Backend) {
    let p = platform(backend).await;
    let (status, body) = p.send_events(event("evt-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["accepted"].as_i64(), body["results"][0]["status"].as_str()), (Some(1), Some("accepted")));
    // Stored before the answer, with what was sent.
    let row = sqlx::query_as::<_, (String, String, String, String, i64)>("select external_id, device, event_type, severity, occurred_at from event")
        .fetch_one(&p.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(row, ("evt-1".into(), "FS01".into(), "backup_failed".into(), "error".into(), 1_795_317_120_000));
    let (_, again) = p.send_events(event("evt-1")).await;
    assert_eq!((again["accepted"].as_i64(), again["results"][0]["status"].as_str()), (Some(0), Some("duplicate")));
    let (_, batch) = p.send_events(json!({"events": [event("evt-1"), event("evt-2"), event("evt-2")]})).await;
    let statuses: Vec<&str> = batch["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["duplicate", "accepted", "duplicate"]);
    assert_eq!(p.stored().await, 2);
}

async fn a_batch_is_answered_per_event_with_the_field_at_fault(backend: Backend) {
    let p = platform(backend).await;
    let mut bad_type = event("b-2");
    bad_type["type"] = json!("backup_exploded");
    let mut bad_severity = event("b-3");
    bad_severity["severity"] = json!("critical");
    let mut bad_time = event("b-4");
    bad_time["occurred_at"] = json!("yesterday");
    let mut unknown_customer = event("b-5");
    unknown_customer["customer_ref"] = json!("nobody");
    let mut no_device = event("b-6");
    no_device["device"] = json!("  ");
    let (status, body) = p.send_events(json!({"events": [event("b-1"), bad_type, bad_severity, bad_time, unknown_customer, no_device]})).await;
    assert_eq!(status, 200);
    assert_eq!(body["accepted"], 1);
    let fields: Vec<&str> = body["results"].as_array().unwrap().iter().skip(1).map(|r| r["error"]["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["events[1].type", "events[2].severity", "events[3].occurred_at", "events[4].customer_ref", "events[5].device"]);
    assert!(body["results"][1]["error"]["message"].as_str().unwrap().contains("backup_ok"), "the message lists the types");
    assert_eq!(p.stored().await, 1);
    // A single invalid event is a 422 naming the field.
    let mut one = event("s-1");
    one["severity"] = json!("loud");
    let (status, body) = p.send_events(one).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "severity");
    // Not JSON of this shape, or too many: 400.
    let r = reqwest::Client::new()
        .post(p.app.url("/api/v1/events"))
        .bearer_auth(&p.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let many: Vec<Value> = (0..1001).map(|i| event(&format!("m-{i}"))).collect();
    assert_eq!(p.send_events(json!({"events": many})).await.0, 400);
    assert_eq!(p.stored().await, 1);
    // The API description documents the route with examples.
    let doc: Value = reqwest::get(p.app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
    let op = &doc["paths"]["/api/v1/events"]["post"];
    assert!(op["requestBody"]["content"]["application/json"]["schema"]["examples"].as_array().is_some_and(|e| !e.is_empty()));
}

async fn events_only_reach_the_tokens_own_customers(backend: Backend) {
    let p = platform(backend).await;
    let customer_id: i64 = sqlx::query_scalar("select customer_id from customer").fetch_one(&p.app.state.db.pool).await.unwrap();
    let other = p.app.partner("Other").await;
    let admin = p.app.signed_in(&other.email, &other.password).await;
    let token = admin.ok("create_api_token", &[("name", "Other platform")]).await["token"].as_str().unwrap().to_string();
    let send = |body: Value| {
        let (url, token) = (p.app.url("/api/v1/events"), token.clone());
        async move { reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let by_ref = send(event("x-1")).await;
    assert_eq!(by_ref["error"]["field"], "customer_ref", "{by_ref}");
    let mut by_id = event("x-2");
    by_id.as_object_mut().unwrap().remove("customer_ref");
    by_id["customer_id"] = json!(customer_id);
    let by_id = send(by_id).await;
    assert_eq!(by_id["error"]["field"], "customer_id", "{by_id}");
    assert_eq!(p.stored().await, 0);
}
