//! `GET /api/v1/backup-users`, `/destinations` and `/packages`: what the backup platform
//! reads to provision accounts. Backup users are read as a change feed: every change
//! after a cursor, oldest first, deletions included, so polling with the last
//! `next_cursor` never misses or repeats one.

use super::error::ApiError;
use super::feed::{self, FeedQuery, SETTLE_MS};
use crate::db::backup_users::{self as store, UserRow};
use crate::db::storage;
use crate::db::tokens::ApiCaller;
use crate::state::AppState;
use app::types::storage::DestinationKind;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

/// One backup user as the platform provisions it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupUserItem {
    /// Taskbridge's id of the user.
    pub backup_user_id: i64,
    /// The login, lower-cased.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Taskbridge's id of the customer.
    pub customer_id: i64,
    /// Your reference of the customer, when you registered it.
    pub customer_ref: Option<String>,
    /// The customer's name.
    pub customer_name: String,
    /// Where its backups go.
    pub destination_id: i64,
    /// Its storage quota.
    pub package_id: i64,
    /// The Autotask contact it was imported from, while linked.
    pub autotask_contact_id: Option<i64>,
    /// True when the user was deleted: remove the account.
    pub deleted: bool,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupUsersAnswer {
    /// Changes after the cursor, oldest first.
    #[schema(inline)]
    pub backup_users: Vec<BackupUserItem>,
    /// Send this as `changed_since` next time (also when nothing changed).
    pub next_cursor: String,
    /// More changes wait: ask again at once.
    pub has_more: bool,
}

fn item(r: UserRow) -> BackupUserItem {
    BackupUserItem {
        backup_user_id: r.backup_user_id,
        email: r.email,
        first_name: r.first_name,
        last_name: r.last_name,
        customer_id: r.customer_id,
        customer_ref: r.customer_ref,
        customer_name: r.customer_name,
        destination_id: r.destination_id,
        package_id: r.package_id,
        autotask_contact_id: r.contact_id,
        deleted: r.deleted_at.is_some(),
        updated_at: feed::rfc3339(r.updated_at),
    }
}

/// `GET /api/v1/backup-users`.
pub async fn feed(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<BackupUsersAnswer>, ApiError> {
    let (after, limit) = feed::bounds(query)?;
    let until = crate::db::now_ms() - SETTLE_MS;
    let mut rows = store::changed_after(&state.db, caller.partner_id, after, until, limit + 1)
        .await
        .map_err(|e| ApiError::unavailable(e, "Taskbridge could not read backup users right now; retry shortly."))?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = feed::next_cursor(rows.last().map(|r| (r.updated_at, r.backup_user_id)), after);
    Ok(Json(BackupUsersAnswer { backup_users: rows.into_iter().map(item).collect(), next_cursor, has_more }))
}

/// A destination as the platform reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationItem {
    /// Id (backup users name it as `destination_id`).
    pub destination_id: i64,
    /// The partner's name for it.
    pub name: String,
    /// amazon_s3, azure_blob, wasabi, backblaze_b2, google_cloud, s3_compatible or local_nas.
    pub provider: String,
    /// bucket, container or root_folder.
    pub kind: String,
    /// The bucket or container name, or the folder's path.
    pub location: String,
    /// The provider's region, where it has one.
    pub region: Option<String>,
    /// Retired: its users keep it; no new user gets it.
    pub retired: bool,
}

/// Every destination of the partner.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestinationsAnswer {
    /// By name.
    #[schema(inline)]
    pub destinations: Vec<DestinationItem>,
}

/// A package as the platform reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageItem {
    /// Id (backup users name it as `package_id`).
    pub package_id: i64,
    /// Name.
    pub name: String,
    /// The storage quota in GB; null is unlimited.
    pub limit_gb: Option<i64>,
    /// Retired: its users keep it; no new user gets it.
    pub retired: bool,
}

/// Every package of the partner.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackagesAnswer {
    /// By name.
    #[schema(inline)]
    pub packages: Vec<PackageItem>,
}

fn kind_name(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Bucket => "bucket",
        DestinationKind::Container => "container",
        DestinationKind::RootFolder => "root_folder",
    }
}

/// `GET /api/v1/destinations`.
pub async fn destinations(State(state): State<AppState>, Extension(caller): Extension<ApiCaller>) -> Result<Json<DestinationsAnswer>, ApiError> {
    let list = storage::destinations(&state.db, caller.partner_id)
        .await
        .map_err(|e| ApiError::unavailable(e, "Taskbridge could not read destinations right now; retry shortly."))?;
    let destinations = list
        .into_iter()
        .map(|d| DestinationItem {
            destination_id: d.destination_id,
            name: d.name,
            provider: d.provider.as_str().into(),
            kind: kind_name(d.kind).into(),
            location: d.location,
            region: d.region,
            retired: d.retired,
        })
        .collect();
    Ok(Json(DestinationsAnswer { destinations }))
}

/// `GET /api/v1/packages`.
pub async fn packages(State(state): State<AppState>, Extension(caller): Extension<ApiCaller>) -> Result<Json<PackagesAnswer>, ApiError> {
    let list = storage::packages(&state.db, caller.partner_id)
        .await
        .map_err(|e| ApiError::unavailable(e, "Taskbridge could not read packages right now; retry shortly."))?;
    let packages =
        list.into_iter().map(|p| PackageItem { package_id: p.package_id, name: p.name, limit_gb: p.limit_gb, retired: p.retired }).collect();
    Ok(Json(PackagesAnswer { packages }))
}

/// OpenAPI schema of the feed's answer, with an example.
pub fn feed_schema() -> serde_json::Value {
    let mut schema = super::schema::of::<BackupUsersAnswer>();
    schema["examples"] = serde_json::json!([{
        "backup_users": [
            {"backup_user_id": 812, "email": "ann.lee@acmedental.example", "first_name": "Ann", "last_name": "Lee", "customer_id": 57,
             "customer_ref": "cust-1042", "customer_name": "Acme Dental Inc", "destination_id": 3, "package_id": 2,
             "autotask_contact_id": 30680449, "deleted": false, "updated_at": "2026-12-01T09:30:12.000Z"},
            {"backup_user_id": 790, "email": "bob.ray@acmedental.example", "first_name": "Bob", "last_name": "Ray", "customer_id": 57,
             "customer_ref": "cust-1042", "customer_name": "Acme Dental Inc", "destination_id": 3, "package_id": 2,
             "autotask_contact_id": null, "deleted": true, "updated_at": "2026-12-01T09:31:40.000Z"}
        ],
        "next_cursor": "1796117500000.790",
        "has_more": false
    }]);
    schema
}

/// OpenAPI schema of the destinations, with an example.
pub fn destinations_schema() -> serde_json::Value {
    let mut schema = super::schema::of::<DestinationsAnswer>();
    schema["examples"] = serde_json::json!([{"destinations": [
        {"destination_id": 3, "name": "US backups", "provider": "wasabi", "kind": "bucket", "location": "msp-backups-us", "region": "us-east-1", "retired": false},
        {"destination_id": 4, "name": "Office NAS", "provider": "local_nas", "kind": "root_folder", "location": "\\\\nas01\\backups", "region": null, "retired": false}
    ]}]);
    schema
}

/// OpenAPI schema of the packages, with an example.
pub fn packages_schema() -> serde_json::Value {
    let mut schema = super::schema::of::<PackagesAnswer>();
    schema["examples"] = serde_json::json!([{"packages": [
        {"package_id": 2, "name": "Standard 500 GB", "limit_gb": 500, "retired": false},
        {"package_id": 5, "name": "Unlimited", "limit_gb": null, "retired": false}
    ]}]);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples_have_the_answers_shape() {
        for (schema, key) in [(feed_schema(), "backup_users"), (destinations_schema(), "destinations"), (packages_schema(), "packages")] {
            let example = &schema["examples"][0];
            assert!(schema["properties"][key].is_object() && example[key].as_array().is_some_and(|a| !a.is_empty()), "{schema}");
            for field in example[key][0].as_object().unwrap().keys() {
                assert!(schema["properties"][key]["items"]["properties"][field].is_object(), "{key}.{field} is not in the schema: {schema}");
            }
        }
    }
}
