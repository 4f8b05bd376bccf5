//! The Integration setup page: Autotask connection settings and "Test connection".

use crate::error::AppError;
use crate::types::{ConnectionTest, ConnectionView};
use leptos::prelude::*;

/// The partner's connection settings (everyone may read them; the secret never leaves).
#[server(prefix = "/rpc", endpoint = "get_autotask_connection")]
pub async fn get_autotask_connection() -> Result<ConnectionView, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.autotask.get(user.partner_id).await
}

/// Saves the settings; an empty secret keeps the stored one. A new secret needs the
/// admin's own password (`password`) again, so a borrowed session cannot swap it.
#[server(prefix = "/rpc", endpoint = "save_autotask_connection")]
pub async fn save_autotask_connection(
    username: String,
    secret: String,
    integration_code: String,
    zone_override: String,
    #[server(default)] password: String,
) -> Result<ConnectionView, AppError> {
    let admin = crate::auth::require_admin()?;
    let input = crate::types::ConnectionInput::parse(&username, &secret, &integration_code, &zone_override)?;
    let services = crate::services::services()?;
    if input.secret.is_some() {
        services.auth.confirm_password(&admin, &password).await?;
    }
    services.autotask.save(&admin, input).await
}

/// Tests the saved settings against Autotask.
#[server(prefix = "/rpc", endpoint = "test_autotask_connection")]
pub async fn test_autotask_connection() -> Result<ConnectionTest, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.autotask.test(&admin).await
}

/// Tests the settings as typed on the Setup form, without saving them.
#[server(prefix = "/rpc", endpoint = "test_autotask_settings")]
pub async fn test_autotask_settings(
    username: String,
    secret: String,
    integration_code: String,
    zone_override: String,
) -> Result<ConnectionTest, AppError> {
    let admin = crate::auth::require_admin()?;
    let input = crate::types::ConnectionInput::parse(&username, &secret, &integration_code, &zone_override)?;
    crate::services::services()?.autotask.test_typed(&admin, input).await
}
