//! The Storage page: destinations and packages (admins change them; everyone may read them).

use crate::error::AppError;
use crate::types::storage::{Destination, DestinationInput, Package, PackageInput, StorageItem, StorageLists};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Both lists, with how many backup users use each.
#[server(prefix = "/rpc", endpoint = "list_storage")]
pub async fn list_storage() -> Result<StorageLists, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.storage.lists(user.partner_id).await
}

/// Adds (`destination_id` None) or changes a destination.
#[server(prefix = "/rpc", endpoint = "save_destination", input = Json)]
pub async fn save_destination(destination_id: Option<i64>, input: DestinationInput) -> Result<Destination, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.storage.save_destination(&admin, destination_id, input).await
}

/// Adds (`package_id` None) or changes a package.
#[server(prefix = "/rpc", endpoint = "save_package", input = Json)]
pub async fn save_package(package_id: Option<i64>, input: PackageInput) -> Result<Package, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.storage.save_package(&admin, package_id, input).await
}

/// Retires (or reactivates) a destination or package.
#[server(prefix = "/rpc", endpoint = "set_storage_retired", input = Json)]
pub async fn set_storage_retired(item: StorageItem, id: i64, retired: bool) -> Result<(), AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.storage.set_retired(&admin, item, id, retired).await
}

/// Deletes a destination or package no backup user uses.
#[server(prefix = "/rpc", endpoint = "delete_storage_item", input = Json)]
pub async fn delete_storage_item(item: StorageItem, id: i64) -> Result<(), AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.storage.delete(&admin, item, id).await
}
