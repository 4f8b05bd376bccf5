//! `POST /api/v1/events`: backup events from the platform. Each event is validated,
//! tied to a Taskbridge customer, and stored durably before the answer; the sender's id
//! makes a repeat the same event (answered `duplicate`, stored once).

use crate::db::now_ms;
use crate::db::tokens::ApiCaller;
use crate::machine_api::api_error;
use crate::machine_api::customers::CustomerKey;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Most events per call.
pub const MAX_BATCH: usize = 1_000;

pub use app::types::tickets::EVENT_TYPES;

const SEVERITIES: &[&str] = &["ok", "warning", "error"];

/// One event as the platform sends it.
#[derive(Debug, Deserialize)]
pub struct Incoming {
    id: Option<String>,
    customer_ref: Option<String>,
    customer_id: Option<i64>,
    device: Option<String>,
    job: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    severity: Option<String>,
    message: Option<String>,
    occurred_at: Option<String>,
}

/// A single event, or a batch.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Body {
    /// `{"events": [...]}`.
    Batch { events: Vec<Incoming> },
    /// One event object.
    One(Box<Incoming>),
}

/// OpenAPI request schema, with examples.
pub fn request_schema() -> Value {
    let types: Vec<&str> = EVENT_TYPES.iter().map(|t| t.0).collect();
    let event = json!({
        "type": "object",
        "required": ["id", "device", "type", "severity", "occurred_at"],
        "properties": {
            "id": {"type": "string", "maxLength": 200, "description": "Your id for the event. Sending the same id again is the same event (answered `duplicate`)."},
            "customer_ref": {"type": "string", "description": "Your reference of the customer (as registered with POST /api/v1/customers). Give this or customer_id."},
            "customer_id": {"type": "integer", "description": "Taskbridge's customer id."},
            "device": {"type": "string", "maxLength": 200, "description": "The protected machine or appliance, e.g. FS01."},
            "job": {"type": "string", "maxLength": 200, "description": "The backup job, when the device has several."},
            "type": {"type": "string", "enum": types, "description": "What happened. Each *_ok / *_online type is the recovery of its failure type."},
            "severity": {"type": "string", "enum": SEVERITIES},
            "message": {"type": "string", "maxLength": 4000},
            "occurred_at": {"type": "string", "format": "date-time", "description": "When it happened (RFC 3339, with a zone)."}
        }
    });
    json!({
        "oneOf": [event.clone(), {"type": "object", "required": ["events"], "properties": {"events": {"type": "array", "maxItems": MAX_BATCH, "items": event}}}],
        "examples": [
            {"id": "evt-20261122-0001", "customer_ref": "cust-1042", "device": "FS01", "job": "Nightly", "type": "backup_failed", "severity": "error", "message": "VSS snapshot failed: 0x8004230f", "occurred_at": "2026-11-22T03:12:00Z"},
            {"events": [{"id": "evt-20261122-0002", "customer_ref": "cust-1042", "device": "FS01", "job": "Nightly", "type": "backup_ok", "severity": "ok", "message": "Backup completed", "occurred_at": "2026-11-22T04:12:00Z"}]}
        ]
    })
}

/// OpenAPI response schema.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["accepted", "results"], "properties": {
        "accepted": {"type": "integer", "description": "Events stored by this call (duplicates not counted)."},
        "results": {"type": "array", "items": {"type": "object", "required": ["id", "status"], "properties": {
            "id": {"type": "string"}, "status": {"type": "string", "enum": ["accepted", "duplicate", "invalid"]},
            "event_id": {"type": "integer"},
            "error": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
        }}}
    }})
}

/// A valid event, ready to store (customer still to resolve).
#[derive(Debug, Clone)]
struct Valid {
    id: String,
    customer: CustomerKey,
    device: String,
    job: String,
    event_type: &'static str,
    severity: &'static str,
    message: String,
    occurred_at: i64,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(str::trim).unwrap_or_default().to_string()
}

/// Checks one event; the error names the field (`events[3].severity`).
fn validate(e: &Incoming, prefix: &str) -> Result<Valid, (String, String)> {
    let field = |name: &str| format!("{prefix}{name}");
    let id = text(&e.id);
    if id.is_empty() || id.len() > 200 {
        return Err((field("id"), "Give each event your own id (1 to 200 characters); a repeat of an id is the same event.".into()));
    }
    let customer = CustomerKey::from_fields(e.customer_ref.as_deref(), e.customer_id, field, "event")?;
    let device = text(&e.device);
    if device.is_empty() || device.len() > 200 {
        return Err((field("device"), "Name the device or appliance (1 to 200 characters).".into()));
    }
    let job = text(&e.job);
    if job.len() > 200 {
        return Err((field("job"), "The job name is longer than 200 characters.".into()));
    }
    let raw_type = text(&e.event_type);
    let Some(event_type) = EVENT_TYPES.iter().map(|t| t.0).find(|t| *t == raw_type) else {
        return Err((
            field("type"),
            format!("Unknown event type \u{201c}{raw_type}\u{201d}. Use one of: {}.", EVENT_TYPES.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")),
        ));
    };
    let raw_severity = text(&e.severity).to_ascii_lowercase();
    let Some(severity) = SEVERITIES.iter().find(|s| **s == raw_severity).copied() else {
        return Err((field("severity"), "Severity must be ok, warning or error.".into()));
    };
    let message = text(&e.message);
    if message.chars().count() > 4000 {
        return Err((field("message"), "The message is longer than 4,000 characters.".into()));
    }
    let occurred_at = match chrono::DateTime::parse_from_rfc3339(&text(&e.occurred_at)) {
        Ok(t) => t.timestamp_millis(),
        Err(_) => return Err((field("occurred_at"), "Give the time as RFC 3339 with a zone, e.g. 2026-11-22T03:12:00Z.".into())),
    };
    Ok(Valid { id, customer, device, job, event_type, severity, message, occurred_at })
}

fn invalid(id: &str, field: &str, message: &str) -> Value {
    json!({"id": id, "status": "invalid", "error": {"field": field, "message": message}})
}

/// The handler.
pub async fn receive(State(state): State<AppState>, Extension(caller): Extension<ApiCaller>, body: Result<Json<Body>, JsonRejection>) -> Response {
    let (incoming, single) = match body {
        Ok(Json(Body::Batch { events })) => (events, false),
        Ok(Json(Body::One(event))) => (vec![*event], true),
        Err(e) => {
            return api_error(StatusCode::BAD_REQUEST, "invalid_body", &format!("Send one event object or {{\"events\": [...]}}: {}", e.body_text()))
        }
    };
    if incoming.is_empty() || incoming.len() > MAX_BATCH {
        return api_error(StatusCode::BAD_REQUEST, "invalid_body", &format!("Send between 1 and {MAX_BATCH} events per call."));
    }
    let checked: Vec<Result<Valid, (String, String)>> =
        incoming.iter().enumerate().map(|(i, e)| validate(e, &if single { String::new() } else { format!("events[{i}].") })).collect();
    match store(&state, caller.partner_id, checked, &incoming, single).await {
        Ok((accepted, results)) => {
            if accepted > 0 {
                state.dispatch_wake.notify_one();
            }
            if single && results.first().is_some_and(|r| r["status"] == "invalid") {
                let error = &results[0]["error"];
                return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": {"code": "invalid_event", "field": error["field"], "message": error["message"]}, "results": results, "accepted": 0}))).into_response();
            }
            Json(json!({"accepted": accepted, "results": results})).into_response()
        }
        Err(e) => {
            crate::error::internal(e);
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The events could not be stored; none of this call was accepted. Retry it (ids make retries safe).",
            )
        }
    }
}

async fn store(
    state: &AppState,
    partner_id: i64,
    checked: Vec<Result<Valid, (String, String)>>,
    incoming: &[Incoming],
    single: bool,
) -> Result<(usize, Vec<Value>), sqlx::Error> {
    // Resolve the customers of the batch in one query per kind of key.
    let customers =
        crate::machine_api::customers::resolve(&state.db, partner_id, checked.iter().filter_map(|c| c.as_ref().ok().map(|v| &v.customer))).await?;
    let now = now_ms();
    let mut results: Vec<Value> = Vec::with_capacity(checked.len());
    let mut rows: Vec<(usize, Valid, i64)> = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        let sent_id = incoming[i].id.clone().unwrap_or_default();
        match c {
            Err((field, message)) => results.push(invalid(&sent_id, &field, &message)),
            Ok(v) => match customers.get(&v.customer) {
                None => {
                    let (field, what) = v.customer.unknown();
                    let prefix = if single { String::new() } else { format!("events[{i}].") };
                    results.push(invalid(&v.id, &format!("{prefix}{field}"), &what));
                }
                Some(customer_id) => {
                    let customer_id = *customer_id;
                    results.push(json!({"id": v.id, "status": "pending"}));
                    rows.push((i, v, customer_id));
                }
            },
        }
    }
    // One transaction; repeats of an id (in this call or before) are stored once.
    let mut accepted = 0;
    let mut tx = state.db.begin().await?;
    for chunk in rows.chunks(100) {
        let batch: Vec<crate::db::events::NewEvent<'_>> = chunk
            .iter()
            .map(|(_, v, customer_id)| crate::db::events::NewEvent {
                external_id: &v.id,
                customer_id: *customer_id,
                device: &v.device,
                job: &v.job,
                event_type: v.event_type,
                severity: v.severity,
                message: &v.message,
                occurred_at: v.occurred_at,
            })
            .collect();
        let inserted: HashMap<String, i64> = crate::db::events::insert_batch(&mut tx, partner_id, now, &batch).await?;
        for (i, v, _) in chunk {
            results[*i] = match inserted.get(&v.id) {
                // The first occurrence in this call takes the new row; later ones are repeats.
                Some(event_id) if !results.iter().any(|r| r["event_id"] == *event_id) => {
                    accepted += 1;
                    json!({"id": v.id, "status": "accepted", "event_id": event_id})
                }
                _ => json!({"id": v.id, "status": "duplicate"}),
            };
        }
    }
    tx.commit().await?;
    Ok((accepted, results))
}
