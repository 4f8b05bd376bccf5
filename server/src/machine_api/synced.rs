//! `GET /api/v1/customers`: the customers the customer sync keeps up to date from
//! Autotask, with their synced details and contracts, as a change feed (every company
//! written after a cursor, oldest first; one that stopped qualifying says so).

use super::error::ApiError;
use super::feed::{self, FeedQuery, SETTLE_MS};
use crate::db::sync::clients::{self as store, FeedRow, SyncedContract};
use crate::db::tokens::ApiCaller;
use crate::state::AppState;
use app::types::money::Money;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A contract of a synced customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncedContractItem {
    /// Autotask's id of the contract.
    pub contract_id: i64,
    /// Its name.
    pub name: String,
    /// The vendor of its services, or "MSP Managed Services".
    pub vendor: String,
    /// The sum of the current period's service-unit prices.
    pub overall_cost: f64,
    /// ISO code of that amount's currency (Autotask's internal one); empty when unknown.
    pub currency: String,
    /// Active in Autotask.
    pub active: bool,
}

/// One Autotask company the sync follows, with its customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncedCustomerItem {
    /// Autotask's id of the company.
    pub autotask_company_id: i64,
    /// Taskbridge's id of the customer it keeps up to date (null when none could be written).
    pub customer_id: Option<i64>,
    /// Your reference of that customer, when you registered it.
    pub customer_ref: Option<String>,
    /// The company name.
    pub name: String,
    /// Street address, first line.
    pub address1: String,
    /// Street address, second line.
    pub address2: String,
    /// City.
    pub city: String,
    /// State or province as Autotask has it.
    pub state: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
    /// Main phone.
    pub phone: String,
    /// First alternate phone.
    pub alternate_phone1: String,
    /// Second alternate phone.
    pub alternate_phone2: String,
    /// Fax.
    pub fax: String,
    /// The primary contact's email (Autotask's company has none of its own).
    pub email: String,
    /// Web site.
    pub web_address: String,
    /// Still an active Customer in Autotask; false once it stopped qualifying (kept, not deleted).
    pub active: bool,
    /// synced, failed or skipped.
    pub sync_state: String,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Its contracts (with Active customer contracts on).
    #[schema(inline)]
    pub contracts: Vec<SyncedContractItem>,
    /// When it or its contracts last changed here (RFC 3339).
    pub updated_at: String,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncedCustomersAnswer {
    /// Changes after the cursor, oldest first.
    #[schema(inline)]
    pub customers: Vec<SyncedCustomerItem>,
    /// Send this as `changed_since` next time (also when nothing changed).
    pub next_cursor: String,
    /// More changes wait: ask again at once.
    pub has_more: bool,
}

fn contract(c: SyncedContract) -> SyncedContractItem {
    SyncedContractItem {
        contract_id: c.contract_id,
        name: c.contract_name,
        vendor: c.vendor_name,
        overall_cost: Money::from_minor(c.overall_cost).to_f64(),
        currency: c.currency,
        active: c.is_active != 0,
    }
}

fn item(r: FeedRow, contracts: Vec<SyncedContractItem>) -> SyncedCustomerItem {
    let c = r.company;
    SyncedCustomerItem {
        autotask_company_id: c.company_id,
        customer_id: c.customer_id,
        customer_ref: r.customer_ref,
        name: c.name,
        address1: c.address1,
        address2: c.address2,
        city: c.city,
        state: c.state,
        postal_code: c.postal_code,
        country_code: c.country_code,
        phone: c.phone,
        alternate_phone1: c.alternate_phone1,
        alternate_phone2: c.alternate_phone2,
        fax: c.fax,
        email: c.email,
        web_address: c.web_address,
        active: c.qualifies == 1,
        sync_state: c.sync_state,
        reason: c.reason,
        contracts,
        updated_at: feed::rfc3339(r.changed_at),
    }
}

/// `GET /api/v1/customers`.
pub async fn feed(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<SyncedCustomersAnswer>, ApiError> {
    let (after, limit) = feed::bounds(query)?;
    let unavailable = |e| ApiError::unavailable(e, "Taskbridge could not read the synced customers right now; retry shortly.");
    let until = crate::db::now_ms() - SETTLE_MS;
    let mut rows = store::changed_after(&state.db, caller.partner_id, after, until, limit + 1).await.map_err(unavailable)?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<i64> = rows.iter().map(|r| r.company.company_id).collect();
    let mut contracts: HashMap<i64, Vec<SyncedContractItem>> = HashMap::new();
    for c in store::contracts_of(&state.db, caller.partner_id, &ids).await.map_err(unavailable)? {
        contracts.entry(c.company_id).or_default().push(contract(c));
    }
    let next_cursor = feed::next_cursor(rows.last().map(|r| (r.changed_at, r.company.company_id)), after);
    let customers = rows
        .into_iter()
        .map(|r| {
            let mine = contracts.remove(&r.company.company_id).unwrap_or_default();
            item(r, mine)
        })
        .collect();
    Ok(Json(SyncedCustomersAnswer { customers, next_cursor, has_more }))
}

/// OpenAPI schema of the feed's answer, with an example.
pub fn feed_schema() -> serde_json::Value {
    let mut schema = super::schema::of::<SyncedCustomersAnswer>();
    schema["examples"] = serde_json::json!([{
        "customers": [{
            "autotask_company_id": 1166, "customer_id": 61, "customer_ref": "cust-1042", "name": "Acme Architects",
            "address1": "5112 Redwood Street", "address2": "", "city": "Denver", "state": "CO", "postal_code": "80202", "country_code": "US",
            "phone": "+1 555 002 5531", "alternate_phone1": "", "alternate_phone2": "", "fax": "",
            "email": "amelie.oneil@acmearchitects.example", "web_address": "https://www.acmearchitects.example",
            "active": true, "sync_state": "synced", "reason": null,
            "contracts": [{"contract_id": 487, "name": "Managed Backup 2025", "vendor": "MSP Managed Services", "overall_cost": 558.36, "currency": "USD", "active": true}],
            "updated_at": "2026-12-04T04:47:12.000Z"
        }],
        "next_cursor": "1796359632000.1166",
        "has_more": false
    }]);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_has_the_answers_shape() {
        let schema = feed_schema();
        let example = &schema["examples"][0]["customers"][0];
        for field in example.as_object().unwrap().keys() {
            assert!(schema["properties"]["customers"]["items"]["properties"][field].is_object(), "customers.{field} is not in the schema");
        }
        for field in example["contracts"][0].as_object().unwrap().keys() {
            let contracts = &schema["properties"]["customers"]["items"]["properties"]["contracts"];
            assert!(contracts["items"]["properties"][field].is_object() || contracts.to_string().contains(field.as_str()), "contracts.{field}");
        }
    }
}
