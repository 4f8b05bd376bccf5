//! The API tokens page: list, create (shown once), revoke (admins only).

use crate::error::AppError;
use crate::types::{ApiTokenSummary, CreatedApiToken};
use leptos::prelude::*;

/// Tokens of the caller's partner.
#[server(prefix = "/rpc", endpoint = "list_api_tokens")]
pub async fn list_api_tokens() -> Result<Vec<ApiTokenSummary>, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.tokens.list(admin.partner_id).await
}

/// Creates a token after the admin's own password (`password`) is checked again; the
/// response is the only time its secret is sent.
#[server(prefix = "/rpc", endpoint = "create_api_token")]
pub async fn create_api_token(name: String, #[server(default)] password: String) -> Result<CreatedApiToken, AppError> {
    let admin = crate::auth::require_admin()?;
    let name = crate::types::parse_token_name(&name)?;
    let services = crate::services::services()?;
    services.auth.confirm_password(&admin, &password).await?;
    services.tokens.create(&admin, name).await
}

/// Revokes a token: requests with it fail from now on.
#[server(prefix = "/rpc", endpoint = "revoke_api_token")]
pub async fn revoke_api_token(token_id: i64) -> Result<ApiTokenSummary, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.tokens.revoke(&admin, token_id).await
}
