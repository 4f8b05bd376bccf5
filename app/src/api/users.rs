//! The Users page: list, add, re-role, disable (admins only).

use crate::error::AppError;
use crate::types::UserSummary;
use leptos::prelude::*;

/// Users of the caller's partner.
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.users.list(admin.partner_id).await
}

/// Adds a user to the caller's partner.
#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(email: String, name: String, role: String, password: String) -> Result<UserSummary, AppError> {
    let admin = crate::auth::require_admin()?;
    let user = crate::types::NewUser::parse(&email, &name, &role, &password)?;
    crate::services::services()?.users.create(&admin, user).await
}

/// Changes a user's role.
#[server(prefix = "/rpc", endpoint = "set_user_role")]
pub async fn set_user_role(user_id: i64, role: String) -> Result<UserSummary, AppError> {
    let admin = crate::auth::require_admin()?;
    let role = crate::types::Role::parse(&role)?;
    crate::services::services()?.users.set_role(&admin, user_id, role).await
}

/// Disables (and signs out) or re-enables a user.
#[server(prefix = "/rpc", endpoint = "set_user_disabled")]
pub async fn set_user_disabled(user_id: i64, disabled: bool) -> Result<UserSummary, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.users.set_disabled(&admin, user_id, disabled).await
}
