//! The Backup users page: list, edit, delete, and settle a Modified contact.

use crate::error::AppError;
use crate::types::contacts::{BackupUserInput, BackupUserPage, BackupUserQuery, BackupUserSaved, Resolution};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// A page of the partner's backup users (everyone in the partner may look).
#[server(prefix = "/rpc", endpoint = "list_backup_users", input = Json)]
pub async fn list_backup_users(query: BackupUserQuery) -> Result<BackupUserPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.backup_users.list(user.partner_id, query).await
}

/// Changes a backup user (admins).
#[server(prefix = "/rpc", endpoint = "save_backup_user", input = Json)]
pub async fn save_backup_user(backup_user_id: i64, input: BackupUserInput) -> Result<BackupUserSaved, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.backup_users.save(&admin, backup_user_id, input).await
}

/// Deletes a backup user (admins); its Autotask contact shows blank again.
#[server(prefix = "/rpc", endpoint = "delete_backup_user")]
pub async fn delete_backup_user(backup_user_id: i64) -> Result<(), AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.backup_users.delete(&admin, backup_user_id).await
}

/// "Update from Autotask" or "Keep Taskbridge's" on a Modified user (admins).
#[server(prefix = "/rpc", endpoint = "resolve_backup_user", input = Json)]
pub async fn resolve_backup_user(backup_user_id: i64, resolution: Resolution) -> Result<(), AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.backup_users.resolve(&admin, backup_user_id, resolution).await
}
