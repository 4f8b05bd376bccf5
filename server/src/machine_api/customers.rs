//! `POST /api/v1/customers`: the backup platform registers its customers (by its own
//! reference) so the Customer Map can match them to Autotask companies.

use super::body::{text, Item, OneOrBatch, MAX_BATCH};
use super::error::{ApiError, FieldError};
use crate::db::tokens::ApiCaller;
use crate::db::{self, audit, now_ms};
use crate::state::AppState;
use app::regions::region_for;
use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

/// One customer as the platform registers it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(title = "Customer")]
pub struct Incoming {
    /// Your id for the customer (1 to 200 characters); sending it again updates the customer.
    #[serde(rename = "ref")]
    #[schema(max_length = 200)]
    pub reference: Option<String>,
    /// Display name (1 to 200 characters).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2 code; decides the data region. Default US.
    pub country: Option<String>,
}

impl Item for Incoming {
    const KEY: &'static str = "customers";
    const WHAT: &'static str = "customer";
    const CODE: &'static str = "invalid_customer";
}

/// What was done with one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// A new customer.
    Created,
    /// Its name or country changed.
    Updated,
    /// Sent again as it was.
    Unchanged,
    /// Not saved; `error` says why.
    Invalid,
}

/// One customer's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerResult {
    /// The reference you sent.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What was done.
    #[schema(inline)]
    pub status: CustomerStatus,
    /// Taskbridge's id of the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// Why it was not saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    pub error: Option<FieldError>,
}

/// The answer to a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomersAnswer {
    /// One per customer sent, in order.
    #[schema(inline)]
    pub results: Vec<CustomerResult>,
}

/// OpenAPI request schema.
pub fn request_schema() -> Value {
    let mut item = super::schema::of::<Incoming>();
    item["required"] = json!(["ref", "name"]);
    super::schema::one_or_batch(
        item,
        Incoming::KEY,
        MAX_BATCH,
        json!([{"ref": "cust-1042", "name": "Acme Dental Inc", "country": "US"}, {"customers": [{"ref": "cust-1043", "name": "Birch Law LLP", "country": "GB"}]}]),
    )
}

/// OpenAPI response schema.
pub fn response_schema() -> Value {
    super::schema::of::<CustomersAnswer>()
}

/// Validates one customer: (reference, name, country) or the field at fault.
fn validate(c: &Incoming, prefix: &str) -> Result<(String, String, String), FieldError> {
    let field = |f: &str| format!("{prefix}{f}");
    let reference = text(c.reference.as_deref(), &field("ref"), 200, false)?;
    if reference.is_empty() {
        return Err(FieldError::new(field("ref"), "Give each customer your own reference (1 to 200 characters)."));
    }
    let name = text(c.name.as_deref(), &field("name"), 200, false)?;
    if name.is_empty() {
        return Err(FieldError::new(field("name"), "Give the customer a name (1 to 200 characters)."));
    }
    let country = text(c.country.as_deref(), &field("country"), 2, false).map_err(|_| FieldError::new(field("country"), COUNTRY))?;
    let country = if country.is_empty() { "US".to_string() } else { country.to_ascii_uppercase() };
    if rust_iso3166::from_alpha2(&country).is_none() {
        return Err(FieldError::new(field("country"), COUNTRY));
    }
    Ok((reference, name, country))
}

const COUNTRY: &str = "Use an ISO 3166-1 alpha-2 country code such as US, GB or DE.";

/// The handler.
pub async fn upsert(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: OneOrBatch<Incoming>,
) -> Result<Json<CustomersAnswer>, ApiError> {
    let results = write(&state, caller.partner_id, &caller.token_name, &body).await.map_err(|e| {
        crate::error::internal(e);
        ApiError::Internal("Something went wrong on our side; nothing was saved. Retry the call.".into())
    })?;
    match body.single_error(results.first().and_then(|r| r.error.as_ref())) {
        Some(e) => Err(e),
        None => Ok(Json(CustomersAnswer { results })),
    }
}

async fn write(state: &AppState, partner_id: i64, token_name: &str, body: &OneOrBatch<Incoming>) -> Result<Vec<CustomerResult>, sqlx::Error> {
    let now = now_ms();
    let mut results = Vec::with_capacity(body.items.len());
    let (mut created, mut updated) = (0, 0);
    let mut tx = state.db.begin().await?;
    for (index, c) in body.items.iter().enumerate() {
        let (reference, name, country) = match c.as_ref().map_err(Clone::clone).and_then(|c| validate(c, &body.prefix(index))) {
            Ok(v) => v,
            Err(error) => {
                let sent = c.as_ref().ok().and_then(|c| c.reference.clone()).unwrap_or_default();
                results.push(CustomerResult { reference: sent, status: CustomerStatus::Invalid, customer_id: None, error: Some(error) });
                continue;
            }
        };
        let region = region_for(&country);
        let customer = db::customers::ApiCustomer { reference: &reference, name: &name, country: &country, region };
        let (status, customer_id) = match db::customers::by_ref(&mut tx, partner_id, &reference).await? {
            Some(existing) if existing.name == name && existing.country_code == country => (CustomerStatus::Unchanged, existing.customer_id),
            Some(existing) => {
                db::customers::update_from_api(&mut tx, existing.customer_id, &customer, now).await?;
                updated += 1;
                (CustomerStatus::Updated, existing.customer_id)
            }
            None => {
                created += 1;
                (CustomerStatus::Created, db::customers::insert_from_api(&mut tx, partner_id, &customer, now).await?)
            }
        };
        results.push(CustomerResult { reference, status, customer_id: Some(customer_id), error: None });
    }
    if created + updated > 0 {
        audit::record(
            &mut *tx,
            partner_id,
            &format!("api token {token_name}"),
            "customers.upsert",
            &format!("The backup platform registered {created} new and updated {updated} customers"),
        )
        .await
        .map_err(|_| sqlx::Error::Protocol("audit".into()))?;
    }
    tx.commit().await?;
    if created + updated > 0 {
        let _ = crate::services::map::rematch(&state.db, partner_id).await;
    }
    Ok(results)
}

/// Demo mode: backup-platform customers named like some Autotask companies (exactly, in
/// other letter case, with another legal suffix) and a few of their own, added once.
pub async fn seed_demo(db: &crate::db::Db, partner_id: i64, company_names: &[String]) -> anyhow::Result<()> {
    if db::customers::count(db, partner_id).await? > 0 {
        return Ok(());
    }
    let now = now_ms();
    let mut names: Vec<String> = company_names
        .iter()
        .enumerate()
        .map(|(i, n)| match i % 4 {
            0 | 1 => n.clone(),
            2 => n.to_uppercase(),
            _ => format!("{} LLC", n.trim_end_matches(['.', ' '])),
        })
        .collect();
    names.extend(["Harborview Pediatrics", "Quill & Ledger Bookkeeping", "Summit Ridge Veterinary"].map(String::from));
    let mut tx = db.begin().await?;
    for (i, name) in names.iter().enumerate() {
        let reference = format!("demo-{i}");
        db::customers::insert_from_api(
            &mut tx,
            partner_id,
            &db::customers::ApiCustomer { reference: &reference, name, country: "US", region: "us" },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    crate::services::map::rematch(db, partner_id).await.map_err(|e| anyhow::anyhow!("matching: {e}"))?;
    Ok(())
}

/// How an API call names a customer: the platform's reference or Taskbridge's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerKey {
    /// `customer_ref`.
    Ref(String),
    /// `customer_id`.
    Id(i64),
    /// Both, which must name the same customer.
    Both(String, i64),
}

impl CustomerKey {
    /// From the two optional fields (the reference checked as text, up to 200 characters);
    /// the error names the field.
    pub fn from_fields(reference: Option<&str>, id: Option<i64>, field: impl Fn(&str) -> String, whose: &str) -> Result<Self, FieldError> {
        let reference = text(reference, &field("customer_ref"), 200, false)?;
        match (Some(reference).filter(|s| !s.is_empty()), id) {
            (Some(r), Some(id)) => Ok(Self::Both(r, id)),
            (Some(r), None) => Ok(Self::Ref(r)),
            (None, Some(id)) => Ok(Self::Id(id)),
            (None, None) => {
                Err(FieldError::new(field("customer_ref"), format!("Say whose {whose} it is: customer_ref (your reference) or customer_id.")))
            }
        }
    }

    /// The field and message when the partner has no such customer.
    pub fn unknown(&self) -> (&'static str, String) {
        match self {
            Self::Ref(r) => {
                ("customer_ref", format!("No customer has the reference \u{201c}{r}\u{201d}. Register it first with POST /api/v1/customers."))
            }
            Self::Id(id) => ("customer_id", format!("There is no customer {id}.")),
            Self::Both(r, id) => (
                "customer_id",
                format!("customer_ref \u{201c}{r}\u{201d} and customer_id {id} are not the same customer: give one of them, or both of the same customer."),
            ),
        }
    }
}

/// Resolves the keys to the partner's customer ids (other partners' customers are absent).
pub async fn resolve<'k>(
    db: &crate::db::Db,
    partner_id: i64,
    keys: impl Iterator<Item = &'k CustomerKey>,
) -> Result<std::collections::HashMap<CustomerKey, i64>, sqlx::Error> {
    let keys: Vec<&CustomerKey> = keys.collect();
    let (mut refs, mut ids): (Vec<String>, Vec<i64>) = (Vec::new(), Vec::new());
    for k in &keys {
        match k {
            CustomerKey::Ref(r) | CustomerKey::Both(r, _) => refs.push(r.clone()),
            CustomerKey::Id(i) => ids.push(*i),
        }
    }
    let (by_ref, found) = db::customers::resolve(db, partner_id, &refs, &ids).await?;
    let mut out: std::collections::HashMap<CustomerKey, i64> = by_ref.into_iter().map(|(r, id)| (CustomerKey::Ref(r), id)).collect();
    out.extend(found.into_iter().map(|id| (CustomerKey::Id(id), id)));
    for k in keys {
        if let CustomerKey::Both(r, id) = k {
            if out.get(&CustomerKey::Ref(r.clone())) == Some(id) {
                out.insert(k.clone(), *id);
            }
        }
    }
    Ok(out)
}
