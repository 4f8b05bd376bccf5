//! The Customer Map page's server functions.

use crate::error::AppError;
use crate::types::map::{CompanyMapPage, CompanyRef, ContractOption, CustomerMapPage, ExactMatches, MapChange, MapHistoryEntry, MapQuery, MapSaved};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Customers beside their Autotask companies (Taskbridge side).
#[server(prefix = "/rpc", endpoint = "map_customers", input = Json)]
pub async fn map_customers(query: MapQuery) -> Result<CustomerMapPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.map.customers(user.partner_id, query).await
}

/// Autotask companies beside their customers (Autotask side).
#[server(prefix = "/rpc", endpoint = "map_companies", input = Json)]
pub async fn map_companies(query: MapQuery) -> Result<CompanyMapPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.map.companies(user.partner_id, query).await
}

/// Saves staged changes (admins).
#[server(prefix = "/rpc", endpoint = "save_customer_map", input = Json)]
pub async fn save_customer_map(changes: Vec<MapChange>) -> Result<MapSaved, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.map.save(&admin, changes).await
}

/// "Get contracts" for a customer: of the companies it is linked to, or of `companies`,
/// the ones it will be linked to once the staged changes are saved (so a typed Autotask ID
/// gets its contracts before the one Save).
#[server(prefix = "/rpc", endpoint = "get_contracts", input = Json)]
pub async fn get_contracts(customer_id: i64, companies: Option<Vec<i64>>) -> Result<Vec<ContractOption>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.map.contracts(user.partner_id, customer_id, companies).await
}

/// Every exact-name (★★★) suggestion of the map's search and filter, on any page, for
/// "Select exact matches" (admins, who confirm them).
#[server(prefix = "/rpc", endpoint = "exact_matches", input = Json)]
pub async fn find_exact_matches(query: MapQuery) -> Result<ExactMatches, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.map.exact_matches(admin.partner_id, query).await
}

/// The Autotask company an ID typed on the map stands for: its name to confirm, or a
/// clear "no such company" before anything is staged.
#[server(prefix = "/rpc", endpoint = "find_company")]
pub async fn find_company(company_id: i64) -> Result<CompanyRef, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.map.company(user.partner_id, company_id).await
}

/// The map's latest changes (the History's Settings changes has them all).
#[server(prefix = "/rpc", endpoint = "map_history")]
pub async fn map_history() -> Result<Vec<MapHistoryEntry>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.map.history(user.partner_id).await
}
