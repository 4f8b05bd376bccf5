//! The home page figures.

use crate::error::AppError;
use crate::types::Overview;
use leptos::prelude::*;

/// Counts and recent history of the caller's partner.
#[server(prefix = "/rpc", endpoint = "get_overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.overview.overview(user.partner_id).await
}
