//! `POST /api/v1/events`: backup events from the platform. Each event is validated,
//! tied to a Taskbridge customer, and stored durably before the answer; the sender's id
//! makes a repeat the same event (answered `duplicate`, stored once).

use super::body::{text, timestamp, Item, OneOrBatch, MAX_BATCH};
use super::error::{ApiError, FieldError};
use crate::db::now_ms;
use crate::db::tokens::ApiCaller;
use crate::machine_api::customers::CustomerKey;
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

use app::types::tickets::{EventType, EVENT_TYPES};

const SEVERITIES: &[&str] = &["ok", "warning", "error"];

/// One backup event.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(title = "Event")]
pub struct Incoming {
    /// Your id for the event (1 to 200 characters). Sending the same id again is the same
    /// event (answered `duplicate`).
    #[schema(max_length = 200)]
    id: Option<String>,
    /// Your reference of the customer (as registered with POST /api/v1/customers). Give
    /// this or customer_id.
    customer_ref: Option<String>,
    /// Taskbridge's customer id.
    customer_id: Option<i64>,
    /// The protected machine or appliance, e.g. FS01.
    #[schema(max_length = 200)]
    device: Option<String>,
    /// The backup job, when the device has several.
    #[schema(max_length = 200)]
    job: Option<String>,
    /// What happened. Each *_ok / *_online type is the recovery of its failure type.
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// ok, warning or error.
    severity: Option<String>,
    /// The platform's message (up to 4,000 characters).
    #[schema(max_length = 4000)]
    message: Option<String>,
    /// When it happened (RFC 3339, with a zone).
    #[schema(format = DateTime)]
    occurred_at: Option<String>,
}

impl Item for Incoming {
    const KEY: &'static str = "events";
    const WHAT: &'static str = "event";
    const CODE: &'static str = "invalid_event";
}

/// What was done with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Stored now.
    Accepted,
    /// This id was stored before (or earlier in this call).
    Duplicate,
    /// Not stored; `error` says why.
    Invalid,
}

/// One event's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventResult {
    /// The id you sent.
    pub id: String,
    /// What was done.
    #[schema(inline)]
    pub status: EventStatus,
    /// Taskbridge's id of the stored event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    /// Why it was not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    pub error: Option<FieldError>,
}

impl EventResult {
    fn invalid(id: &str, error: FieldError) -> Self {
        Self { id: id.to_string(), status: EventStatus::Invalid, event_id: None, error: Some(error) }
    }
}

/// The answer to a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsAnswer {
    /// Events stored by this call (duplicates not counted).
    pub accepted: usize,
    /// One per event sent, in order.
    #[schema(inline)]
    pub results: Vec<EventResult>,
}

/// OpenAPI request schema, with examples.
pub fn request_schema() -> Value {
    let types: Vec<&str> = EVENT_TYPES.iter().map(|t| t.1).collect();
    let mut event = super::schema::with_enums::<Incoming>(&[("type", types), ("severity", SEVERITIES.to_vec())]);
    event["required"] = json!(["id", "device", "type", "severity", "occurred_at"]);
    super::schema::one_or_batch(
        event,
        Incoming::KEY,
        MAX_BATCH,
        json!([
            {"id": "evt-20261122-0001", "customer_ref": "cust-1042", "device": "FS01", "job": "Nightly", "type": "backup_failed", "severity": "error", "message": "VSS snapshot failed: 0x8004230f", "occurred_at": "2026-11-22T03:12:00Z"},
            {"events": [{"id": "evt-20261122-0002", "customer_ref": "cust-1042", "device": "FS01", "job": "Nightly", "type": "backup_ok", "severity": "ok", "message": "Backup completed", "occurred_at": "2026-11-22T04:12:00Z"}]}
        ]),
    )
}

/// OpenAPI response schema.
pub fn response_schema() -> Value {
    super::schema::of::<EventsAnswer>()
}

/// A valid event, ready to store (customer still to resolve).
#[derive(Debug, Clone)]
struct Valid {
    id: String,
    customer: CustomerKey,
    device: String,
    job: String,
    event_type: EventType,
    severity: &'static str,
    message: String,
    occurred_at: i64,
}

/// Checks one event; the error names the field (`events[3].severity`).
fn validate(e: &Incoming, prefix: &str, now: i64) -> Result<Valid, FieldError> {
    let field = |name: &str| format!("{prefix}{name}");
    let fail = |name: &str, message: String| FieldError::new(field(name), message);
    let id = text(e.id.as_deref(), &field("id"), 200, false)?;
    if id.is_empty() {
        return Err(fail("id", "Give each event your own id (1 to 200 characters); a repeat of an id is the same event.".into()));
    }
    let customer = CustomerKey::from_fields(e.customer_ref.as_deref(), e.customer_id, field, "event")?;
    let device = text(e.device.as_deref(), &field("device"), 200, false)?;
    if device.is_empty() {
        return Err(fail("device", "Name the device or appliance (1 to 200 characters).".into()));
    }
    let job = text(e.job.as_deref(), &field("job"), 200, false)?;
    let raw_type = text(e.event_type.as_deref(), &field("type"), 100, false)?;
    let Some(event_type) = EventType::parse(&raw_type) else {
        return Err(fail(
            "type",
            format!("Unknown event type \u{201c}{raw_type}\u{201d}. Use one of: {}.", EVENT_TYPES.iter().map(|t| t.1).collect::<Vec<_>>().join(", ")),
        ));
    };
    let raw_severity = text(e.severity.as_deref(), &field("severity"), 20, false)?.to_ascii_lowercase();
    let Some(severity) = SEVERITIES.iter().find(|s| **s == raw_severity).copied() else {
        return Err(fail("severity", "Severity must be ok, warning or error.".into()));
    };
    if event_type.is_recovery() && severity == "error" {
        return Err(fail("severity", format!("{} is a recovery: its severity is ok (or warning), not error.", event_type.code())));
    }
    let message = text(e.message.as_deref(), &field("message"), 4000, true)?;
    let occurred_at = timestamp(e.occurred_at.as_deref().unwrap_or(""), &field("occurred_at"), now, "2026-11-22T03:12:00Z")?;
    Ok(Valid { id, customer, device, job, event_type, severity, message, occurred_at })
}

/// The handler.
pub async fn receive(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: OneOrBatch<Incoming>,
) -> Result<Json<EventsAnswer>, ApiError> {
    let now = now_ms();
    let checked: Vec<Result<Valid, FieldError>> =
        body.items.iter().enumerate().map(|(i, e)| e.as_ref().map_err(Clone::clone).and_then(|e| validate(e, &body.prefix(i), now))).collect();
    let (accepted, results) = store(&state, caller.partner_id, checked, &body)
        .await
        .map_err(|e| ApiError::unavailable(e, "The events could not be stored; none of this call was accepted. Retry it (ids make retries safe)."))?;
    if accepted > 0 {
        state.dispatch_wake.notify_one();
    }
    match body.single_error(results.first().and_then(|r| r.error.as_ref())) {
        Some(e) => Err(e),
        None => Ok(Json(EventsAnswer { accepted, results })),
    }
}

async fn store(
    state: &AppState,
    partner_id: i64,
    checked: Vec<Result<Valid, FieldError>>,
    body: &OneOrBatch<Incoming>,
) -> Result<(usize, Vec<EventResult>), sqlx::Error> {
    // Resolve the customers of the batch in one query per kind of key.
    let customers =
        crate::machine_api::customers::resolve(&state.db, partner_id, checked.iter().filter_map(|c| c.as_ref().ok().map(|v| &v.customer))).await?;
    let now = now_ms();
    let mut results: Vec<EventResult> = Vec::with_capacity(checked.len());
    let mut rows: Vec<(usize, Valid, i64)> = Vec::new();
    for (i, c) in checked.into_iter().enumerate() {
        let sent_id = body.items[i].as_ref().ok().and_then(|e| e.id.clone()).unwrap_or_default();
        match c {
            Err(error) => results.push(EventResult::invalid(&sent_id, error)),
            Ok(v) => match customers.get(&v.customer) {
                None => {
                    let (field, what) = v.customer.unknown();
                    results.push(EventResult::invalid(&v.id, FieldError::new(format!("{}{field}", body.prefix(i)), what)));
                }
                Some(customer_id) => {
                    let customer_id = *customer_id;
                    results.push(EventResult { id: v.id.clone(), status: EventStatus::Duplicate, event_id: None, error: None });
                    rows.push((i, v, customer_id));
                }
            },
        }
    }
    // One transaction; repeats of an id (in this call or before) are stored once: the
    // first occurrence in this call takes the new row, later ones are duplicates.
    let mut accepted = 0;
    let mut taken: HashSet<i64> = HashSet::new();
    let mut tx = state.db.begin().await?;
    for chunk in rows.chunks(100) {
        let batch: Vec<crate::db::events::NewEvent<'_>> = chunk
            .iter()
            .map(|(_, v, customer_id)| crate::db::events::NewEvent {
                external_id: &v.id,
                customer_id: *customer_id,
                device: &v.device,
                job: &v.job,
                event_type: v.event_type.code(),
                severity: v.severity,
                message: &v.message,
                occurred_at: v.occurred_at,
            })
            .collect();
        let inserted: HashMap<String, i64> = crate::db::events::insert_batch(&mut tx, partner_id, now, &batch).await?;
        for (i, v, _) in chunk {
            if let Some(event_id) = inserted.get(&v.id).filter(|id| taken.insert(**id)) {
                accepted += 1;
                results[*i] = EventResult { id: v.id.clone(), status: EventStatus::Accepted, event_id: Some(*event_id), error: None };
            }
        }
    }
    tx.commit().await?;
    Ok((accepted, results))
}
