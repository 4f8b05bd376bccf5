//! Billing settings on the Setup page (admins change them; everyone may read them).

use crate::error::AppError;
use crate::types::billing::{BillingSettings, ProductMapping, ServiceOption};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Every product's service and rounding.
#[server(prefix = "/rpc", endpoint = "get_billing_settings")]
pub async fn get_billing_settings() -> Result<BillingSettings, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.billing.settings(user.partner_id).await
}

/// "Retrieve services" from the partner's Autotask.
#[server(prefix = "/rpc", endpoint = "retrieve_services")]
pub async fn retrieve_services() -> Result<Vec<ServiceOption>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.billing.services(user.partner_id).await
}

/// Saves the mappings (admins).
#[server(prefix = "/rpc", endpoint = "save_billing_settings", input = Json)]
pub async fn save_billing_settings(mappings: Vec<ProductMapping>) -> Result<BillingSettings, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.billing.save_settings(&admin, mappings).await
}
