//! Billing settings on the Setup page (admins change them; everyone may read them).

use crate::error::AppError;
use crate::types::billing::{
    BillingSchedule, BillingSettings, PreviewQuery, ProductMapping, PushLine, PushPreview, PushResult, PushRun, PushSelection, ServiceOption,
};
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

/// A page of the dry run: per customer and product, what Autotask bills, Taskbridge's
/// quantity, the change and its money effect, filtered and paged. Nothing is written.
#[server(prefix = "/rpc", endpoint = "preview_push", input = Json)]
pub async fn preview_push(query: PreviewQuery) -> Result<PushPreview, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.billing.preview(user.partner_id, query).await
}

/// Writes the selected changes to Autotask (admins).
#[server(prefix = "/rpc", endpoint = "apply_push", input = Json)]
pub async fn apply_push(selection: PushSelection) -> Result<PushResult, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.billing.apply(&admin, selection, None).await
}

/// Recent pushes.
#[server(prefix = "/rpc", endpoint = "push_history")]
pub async fn push_history() -> Result<Vec<PushRun>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.billing.history(user.partner_id).await
}

/// The lines of one push.
#[server(prefix = "/rpc", endpoint = "push_lines")]
pub async fn push_lines(push_id: i64) -> Result<Vec<PushLine>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.billing.push_lines(user.partner_id, push_id).await
}

/// Undoes a push (admins).
#[server(prefix = "/rpc", endpoint = "undo_push")]
pub async fn undo_push(push_id: i64) -> Result<PushResult, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.billing.undo(&admin, push_id).await
}

/// The automatic push schedule.
#[server(prefix = "/rpc", endpoint = "get_billing_schedule")]
pub async fn get_billing_schedule() -> Result<BillingSchedule, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.billing.schedule(user.partner_id).await
}

/// Changes the schedule (admins).
#[server(prefix = "/rpc", endpoint = "save_billing_schedule", input = Json)]
pub async fn save_billing_schedule(schedule: BillingSchedule) -> Result<BillingSchedule, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.billing.save_schedule(&admin, schedule).await
}
