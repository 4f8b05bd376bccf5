//! `POST /api/v1/usage`: the backup platform reports, per customer and product, the
//! current quantity for a billing period. One row per (customer, product, period): a
//! repeat replaces the quantity (or changes nothing), so retries are safe; a storage
//! measurement older than the stored one is ignored.

use super::body::{text, timestamp, Item, OneOrBatch, MAX_BATCH};
use super::error::{ApiError, FieldError};
use crate::db::tokens::ApiCaller;
use crate::db::{self, now_ms};
use crate::machine_api::customers::CustomerKey;
use crate::state::AppState;
use app::types::billing::{product, PRODUCTS};
use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

/// One usage report: the current quantity of a product for a customer and month.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(title = "UsageReport")]
pub struct Incoming {
    /// Your reference of the customer (POST /api/v1/customers). Give this or customer_id.
    customer_ref: Option<String>,
    /// Taskbridge's customer id.
    customer_id: Option<i64>,
    /// Licence counts (server_backup, workstation_backup, m365_backup, bdr_appliance) are
    /// whole numbers; *_storage_gb are GB.
    product: Option<String>,
    /// The billing month, e.g. 2026-11.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    period: Option<String>,
    /// The current quantity in that period (not a change).
    #[schema(minimum = 0)]
    quantity: Option<f64>,
    /// When it was measured; required for storage. A report older than the stored one is
    /// ignored.
    #[schema(format = DateTime)]
    measured_at: Option<String>,
}

impl Item for Incoming {
    const KEY: &'static str = "usage";
    const WHAT: &'static str = "usage report";
    const CODE: &'static str = "invalid_usage";
}

/// What was done with one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageStatus {
    /// A new customer, product and month.
    Created,
    /// The quantity changed.
    Updated,
    /// The same quantity again.
    Unchanged,
    /// Measured before the stored report; ignored.
    Stale,
    /// Not stored; `error` says why.
    Invalid,
}

/// One report's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageResult {
    /// What was done.
    #[schema(inline)]
    pub status: UsageStatus,
    /// The customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// The product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The billing month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Why it was not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    pub error: Option<FieldError>,
}

impl UsageResult {
    fn invalid(error: FieldError) -> Self {
        Self { status: UsageStatus::Invalid, customer_id: None, product: None, period: None, error: Some(error) }
    }
}

/// The answer to a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageAnswer {
    /// One per report sent, in order.
    #[schema(inline)]
    pub results: Vec<UsageResult>,
}

/// OpenAPI request schema, with an example.
pub fn request_schema() -> Value {
    let codes: Vec<&str> = PRODUCTS.iter().map(|p| p.code).collect();
    let mut item = super::schema::with_enums::<Incoming>(&[("product", codes)]);
    item["required"] = json!(["product", "period", "quantity"]);
    super::schema::one_or_batch(
        item,
        Incoming::KEY,
        MAX_BATCH,
        json!([{"usage": [
            {"customer_ref": "cust-1042", "product": "server_backup", "period": "2026-11", "quantity": 3},
            {"customer_ref": "cust-1042", "product": "cloud_storage_gb", "period": "2026-11", "quantity": 1234.5, "measured_at": "2026-11-22T02:00:00Z"}
        ]}]),
    )
}

/// OpenAPI response schema.
pub fn response_schema() -> Value {
    super::schema::of::<UsageAnswer>()
}

struct Valid {
    customer: CustomerKey,
    product: &'static str,
    period: String,
    quantity: f64,
    measured_at: i64,
}

fn validate(u: &Incoming, prefix: &str, now: i64) -> Result<Valid, FieldError> {
    let field = |f: &str| format!("{prefix}{f}");
    let fail = |f: &str, message: String| FieldError::new(field(f), message);
    let customer = CustomerKey::from_fields(u.customer_ref.as_deref(), u.customer_id, field, "usage")?;
    let code = text(u.product.as_deref(), &field("product"), 100, false)?;
    let code = code.as_str();
    let Some(p) = product(code) else {
        return Err(fail(
            "product",
            format!("Unknown product \u{201c}{code}\u{201d}. Use one of: {}.", PRODUCTS.iter().map(|p| p.code).collect::<Vec<_>>().join(", ")),
        ));
    };
    let period = text(u.period.as_deref(), &field("period"), 20, false)?;
    let valid_period = period.len() == 7
        && period.as_bytes()[4] == b'-'
        && period[..4].parse::<u32>().is_ok_and(|y| (2000..=2100).contains(&y))
        && period[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if !valid_period {
        return Err(fail("period", "Give the billing month as YYYY-MM, e.g. 2026-11.".into()));
    }
    let Some(quantity) = u.quantity.filter(|q| q.is_finite()) else {
        return Err(fail("quantity", "Give the current quantity as a number.".into()));
    };
    if !(0.0..=1e9).contains(&quantity) {
        return Err(fail("quantity", "The quantity is between 0 and 1,000,000,000.".into()));
    }
    if !p.storage && quantity.fract() != 0.0 {
        return Err(fail("quantity", format!("{} is a count of {}s: give a whole number.", p.label, p.unit)));
    }
    let measured_at = match u.measured_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => timestamp(t, &field("measured_at"), now, "2026-11-22T02:00:00Z")?,
        None if p.storage => return Err(fail("measured_at", format!("{} is measured: say when (measured_at).", p.label))),
        None => now,
    };
    Ok(Valid { customer, product: p.code, period, quantity, measured_at })
}

/// The handler.
pub async fn receive(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: OneOrBatch<Incoming>,
) -> Result<Json<UsageAnswer>, ApiError> {
    let results = store(&state, caller.partner_id, &body).await.map_err(|e| {
        ApiError::unavailable(e, "The usage could not be stored; none of this call was. Retry it (reports are keyed, so retries are safe).")
    })?;
    match body.single_error(results.first().and_then(|r| r.error.as_ref())) {
        Some(e) => Err(e),
        None => Ok(Json(UsageAnswer { results })),
    }
}

async fn store(state: &AppState, partner_id: i64, body: &OneOrBatch<Incoming>) -> Result<Vec<UsageResult>, sqlx::Error> {
    let now = now_ms();
    let checked: Vec<Result<Valid, FieldError>> =
        body.items.iter().enumerate().map(|(i, u)| u.as_ref().map_err(Clone::clone).and_then(|u| validate(u, &body.prefix(i), now))).collect();
    // The partner's customers named in the call.
    let customers =
        crate::machine_api::customers::resolve(&state.db, partner_id, checked.iter().filter_map(|c| c.as_ref().ok().map(|v| &v.customer))).await?;
    let mut results = Vec::with_capacity(checked.len());
    let mut tx = state.db.begin().await?;
    for (i, c) in checked.into_iter().enumerate() {
        let v = match c {
            Err(error) => {
                results.push(UsageResult::invalid(error));
                continue;
            }
            Ok(v) => v,
        };
        let Some(customer_id) = customers.get(&v.customer).copied() else {
            let (f, m) = v.customer.unknown();
            results.push(UsageResult::invalid(FieldError::new(format!("{}{f}", body.prefix(i)), m)));
            continue;
        };
        let usage = db::usage::Usage { customer_id, product: v.product, period: &v.period, quantity: v.quantity, measured_at: v.measured_at };
        let status = match db::usage::stored(&mut tx, &usage).await? {
            Some(stored) if usage.measured_at < stored.measured_at => UsageStatus::Stale,
            Some(stored) if (stored.quantity - usage.quantity).abs() < 1e-9 => UsageStatus::Unchanged,
            Some(_) => {
                db::usage::update(&mut tx, &usage, now).await?;
                UsageStatus::Updated
            }
            None => {
                db::usage::insert(&mut tx, partner_id, &usage, now).await?;
                UsageStatus::Created
            }
        };
        results.push(UsageResult {
            status,
            customer_id: Some(customer_id),
            product: Some(v.product.to_string()),
            period: Some(v.period),
            error: None,
        });
    }
    tx.commit().await?;
    Ok(results)
}
