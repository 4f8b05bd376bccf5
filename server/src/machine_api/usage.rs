//! `POST /api/v1/usage`: the backup platform reports, per customer and product, the
//! current quantity for a billing period. One row per (customer, product, period): a
//! repeat replaces the quantity (or changes nothing), so retries are safe; a storage
//! measurement older than the stored one is ignored.

use crate::db::tokens::ApiCaller;
use crate::db::{self, now_ms};
use crate::machine_api::api_error;
use crate::machine_api::customers::CustomerKey;
use crate::state::AppState;
use app::types::billing::{product, PRODUCTS};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// Most reports per call.
pub const MAX_BATCH: usize = 1_000;

/// One report as the platform sends it.
#[derive(Debug, Deserialize)]
pub struct Incoming {
    customer_ref: Option<String>,
    customer_id: Option<i64>,
    product: Option<String>,
    period: Option<String>,
    quantity: Option<f64>,
    measured_at: Option<String>,
}

/// One report, or a batch.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Body {
    /// `{"usage": [...]}`.
    Batch { usage: Vec<Incoming> },
    /// One report.
    One(Box<Incoming>),
}

/// OpenAPI request schema, with an example.
pub fn request_schema() -> Value {
    let codes: Vec<&str> = PRODUCTS.iter().map(|p| p.code).collect();
    let item = json!({
        "type": "object",
        "required": ["product", "period", "quantity"],
        "properties": {
            "customer_ref": {"type": "string", "description": "Your reference of the customer (POST /api/v1/customers). Give this or customer_id."},
            "customer_id": {"type": "integer"},
            "product": {"type": "string", "enum": codes, "description": "Licence counts (server_backup, workstation_backup, m365_backup, bdr_appliance) are whole numbers; *_storage_gb are GB."},
            "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "description": "The billing month, e.g. 2026-11."},
            "quantity": {"type": "number", "minimum": 0, "description": "The current quantity in that period (not a change)."},
            "measured_at": {"type": "string", "format": "date-time", "description": "When it was measured; required for storage. A report older than the stored one is ignored."}
        }
    });
    json!({
        "oneOf": [item.clone(), {"type": "object", "required": ["usage"], "properties": {"usage": {"type": "array", "maxItems": MAX_BATCH, "items": item}}}],
        "examples": [{"usage": [
            {"customer_ref": "cust-1042", "product": "server_backup", "period": "2026-11", "quantity": 3},
            {"customer_ref": "cust-1042", "product": "cloud_storage_gb", "period": "2026-11", "quantity": 1234.5, "measured_at": "2026-11-22T02:00:00Z"}
        ]}]
    })
}

/// OpenAPI response schema.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["created", "updated", "unchanged", "stale", "invalid"]},
        "customer_id": {"type": "integer"}, "product": {"type": "string"}, "period": {"type": "string"},
        "error": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    }}}}})
}

struct Valid {
    customer: CustomerKey,
    product: &'static str,
    period: String,
    quantity: f64,
    measured_at: i64,
}

fn validate(u: &Incoming, prefix: &str, now: i64) -> Result<Valid, (String, String)> {
    let field = |f: &str| format!("{prefix}{f}");
    let customer = CustomerKey::from_fields(u.customer_ref.as_deref(), u.customer_id, field, "usage")?;
    let code = u.product.as_deref().map(str::trim).unwrap_or_default();
    let Some(p) = product(code) else {
        return Err((
            field("product"),
            format!("Unknown product \u{201c}{code}\u{201d}. Use one of: {}.", PRODUCTS.iter().map(|p| p.code).collect::<Vec<_>>().join(", ")),
        ));
    };
    let period = u.period.as_deref().map(str::trim).unwrap_or_default().to_string();
    let valid_period = period.len() == 7
        && period.as_bytes()[4] == b'-'
        && period[..4].parse::<u32>().is_ok_and(|y| (2000..=2100).contains(&y))
        && period[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if !valid_period {
        return Err((field("period"), "Give the billing month as YYYY-MM, e.g. 2026-11.".into()));
    }
    let Some(quantity) = u.quantity.filter(|q| q.is_finite()) else {
        return Err((field("quantity"), "Give the current quantity as a number.".into()));
    };
    if !(0.0..=1e9).contains(&quantity) {
        return Err((field("quantity"), "The quantity is between 0 and 1,000,000,000.".into()));
    }
    if !p.storage && quantity.fract() != 0.0 {
        return Err((field("quantity"), format!("{} is a count of {}s: give a whole number.", p.label, p.unit)));
    }
    let measured_at = match u.measured_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(t) => t.timestamp_millis(),
            Err(_) => return Err((field("measured_at"), "Give the time as RFC 3339 with a zone, e.g. 2026-11-22T02:00:00Z.".into())),
        },
        None if p.storage => return Err((field("measured_at"), format!("{} is measured: say when (measured_at).", p.label))),
        None => now,
    };
    Ok(Valid { customer, product: p.code, period, quantity, measured_at })
}

fn invalid(field: &str, message: &str) -> Value {
    json!({"status": "invalid", "error": {"field": field, "message": message}})
}

/// The handler.
pub async fn receive(State(state): State<AppState>, Extension(caller): Extension<ApiCaller>, body: Result<Json<Body>, JsonRejection>) -> Response {
    let (incoming, single) = match body {
        Ok(Json(Body::Batch { usage })) => (usage, false),
        Ok(Json(Body::One(u))) => (vec![*u], true),
        Err(e) => {
            return api_error(StatusCode::BAD_REQUEST, "invalid_body", &format!("Send one usage report or {{\"usage\": [...]}}: {}", e.body_text()))
        }
    };
    if incoming.is_empty() || incoming.len() > MAX_BATCH {
        return api_error(StatusCode::BAD_REQUEST, "invalid_body", &format!("Send between 1 and {MAX_BATCH} usage reports per call."));
    }
    match store(&state, caller.partner_id, &incoming, single).await {
        Ok(results) => {
            if single && results[0]["status"] == "invalid" {
                let e = &results[0]["error"];
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"error": {"code": "invalid_usage", "field": e["field"], "message": e["message"]}, "results": results})),
                )
                    .into_response();
            }
            Json(json!({ "results": results })).into_response()
        }
        Err(e) => {
            crate::error::internal(e);
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The usage could not be stored; none of this call was. Retry it (reports are keyed, so retries are safe).",
            )
        }
    }
}

async fn store(state: &AppState, partner_id: i64, incoming: &[Incoming], single: bool) -> Result<Vec<Value>, sqlx::Error> {
    let now = now_ms();
    let checked: Vec<Result<Valid, (String, String)>> =
        incoming.iter().enumerate().map(|(i, u)| validate(u, &if single { String::new() } else { format!("usage[{i}].") }, now)).collect();
    // The partner's customers named in the call.
    let customers =
        crate::machine_api::customers::resolve(&state.db, partner_id, checked.iter().filter_map(|c| c.as_ref().ok().map(|v| &v.customer))).await?;
    let mut results = Vec::with_capacity(checked.len());
    let mut tx = state.db.begin().await?;
    for (i, c) in checked.into_iter().enumerate() {
        let prefix = if single { String::new() } else { format!("usage[{i}].") };
        let v = match c {
            Err((field, message)) => {
                results.push(invalid(&field, &message));
                continue;
            }
            Ok(v) => v,
        };
        let Some(customer_id) = customers.get(&v.customer).copied() else {
            let (f, m) = v.customer.unknown();
            results.push(invalid(&format!("{prefix}{f}"), &m));
            continue;
        };
        let usage = db::usage::Usage { customer_id, product: v.product, period: &v.period, quantity: v.quantity, measured_at: v.measured_at };
        let status = match db::usage::stored(&mut tx, &usage).await? {
            Some(stored) if usage.measured_at < stored.measured_at => "stale",
            Some(stored) if (stored.quantity - usage.quantity).abs() < 1e-9 => "unchanged",
            Some(_) => {
                db::usage::update(&mut tx, &usage, now).await?;
                "updated"
            }
            None => {
                db::usage::insert(&mut tx, partner_id, &usage, now).await?;
                "created"
            }
        };
        results.push(json!({"status": status, "customer_id": customer_id, "product": v.product, "period": v.period}));
    }
    tx.commit().await?;
    Ok(results)
}
