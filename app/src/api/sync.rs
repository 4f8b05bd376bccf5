//! The customer and contract sync: its settings (Setup, admins change them), the Clients
//! page, Sync now and Retry, and instant updates (the Autotask webhook).

use crate::error::AppError;
use crate::types::companies::JobView;
use crate::types::sync::{ClientPage, ClientQuery, ClientRow, InstantUpdates, SyncSettings, SyncSettingsInput};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The sync settings and the last round.
#[server(prefix = "/rpc", endpoint = "get_sync_settings")]
pub async fn get_sync_settings() -> Result<SyncSettings, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.sync.settings(user.partner_id).await
}

/// Switches the sync types on or off and sets the polling interval.
#[server(prefix = "/rpc", endpoint = "save_sync_settings", input = Json)]
pub async fn save_sync_settings(input: SyncSettingsInput) -> Result<SyncSettings, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.sync.save_settings(&admin, input).await
}

/// A page of the synced customers and their contracts.
#[server(prefix = "/rpc", endpoint = "list_clients", input = Json)]
pub async fn list_clients(query: ClientQuery) -> Result<ClientPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.sync.clients(user.partner_id, query).await
}

/// Runs a sync round now.
#[server(prefix = "/rpc", endpoint = "sync_now")]
pub async fn sync_now() -> Result<JobView, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.sync.sync_now(&admin).await
}

/// Syncs one company again.
#[server(prefix = "/rpc", endpoint = "retry_client_sync")]
pub async fn retry_client_sync(company_id: i64) -> Result<ClientRow, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.sync.retry(&admin, company_id).await
}

/// The latest sync round's job, so a revisited page shows one in progress.
#[server(prefix = "/rpc", endpoint = "latest_sync_job")]
pub async fn latest_sync_job() -> Result<Option<JobView>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.companies.latest_job(user.partner_id, crate::types::companies::JobKind::Sync).await
}

/// Instant updates: the registered webhook and what it delivered.
#[server(prefix = "/rpc", endpoint = "get_instant_updates")]
pub async fn get_instant_updates() -> Result<InstantUpdates, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.sync.instant_updates(user.partner_id).await
}

/// Registers the Autotask company webhook calling `callout_base`.
#[server(prefix = "/rpc", endpoint = "enable_instant_updates")]
pub async fn enable_instant_updates(callout_base: String) -> Result<InstantUpdates, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.sync.enable_instant_updates(&admin, callout_base).await
}

/// Deletes the Autotask company webhook.
#[server(prefix = "/rpc", endpoint = "disable_instant_updates")]
pub async fn disable_instant_updates() -> Result<InstantUpdates, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.sync.disable_instant_updates(&admin).await
}
