//! Storage destinations and packages (`storage_destination`, `storage_package`), each
//! with how many live backup users use it. Every query is filtered by partner.

use super::Db;
use app::types::storage::{Destination, DestinationKind, Package, Provider, StorageItem, ValidDestination, ValidPackage};
use sqlx::{Any, Transaction};

#[derive(Debug, sqlx::FromRow)]
struct DestinationRow {
    destination_id: i64,
    name: String,
    provider: String,
    location: String,
    region: Option<String>,
    retired_at: Option<i64>,
    users: i64,
    updated_at: i64,
}

impl From<DestinationRow> for Destination {
    fn from(r: DestinationRow) -> Self {
        // A provider this version does not know (stored by a newer one) reads as S3-compatible.
        let provider = Provider::parse(&r.provider).unwrap_or(Provider::S3Compatible);
        Destination {
            destination_id: r.destination_id,
            name: r.name,
            kind: provider.kind(),
            provider,
            location: r.location,
            region: r.region,
            retired: r.retired_at.is_some(),
            users: r.users,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct PackageRow {
    package_id: i64,
    name: String,
    limit_gb: Option<i64>,
    retired_at: Option<i64>,
    users: i64,
    updated_at: i64,
}

impl From<PackageRow> for Package {
    fn from(r: PackageRow) -> Self {
        Package {
            package_id: r.package_id,
            name: r.name,
            limit_gb: r.limit_gb,
            retired: r.retired_at.is_some(),
            users: r.users,
            updated_at: r.updated_at,
        }
    }
}

const DESTINATION_SELECT: &str = "select d.destination_id, d.name, d.provider, d.location, d.region, d.retired_at, d.updated_at, \
     (select count(*) from backup_user u where u.partner_id = d.partner_id and u.destination_id = d.destination_id and u.deleted_at is null) as users \
     from storage_destination d";

const PACKAGE_SELECT: &str = "select p.package_id, p.name, p.limit_gb, p.retired_at, p.updated_at, \
     (select count(*) from backup_user u where u.partner_id = p.partner_id and u.package_id = p.package_id and u.deleted_at is null) as users \
     from storage_package p";

/// The partner's destinations by name.
pub async fn destinations(db: &Db, partner_id: i64) -> Result<Vec<Destination>, sqlx::Error> {
    let rows: Vec<DestinationRow> =
        sqlx::query_as(&format!("{DESTINATION_SELECT} where d.partner_id = $1 order by d.name_key")).bind(partner_id).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(Destination::from).collect())
}

/// One destination of the partner.
pub async fn destination(db: &Db, partner_id: i64, destination_id: i64) -> Result<Option<Destination>, sqlx::Error> {
    let row: Option<DestinationRow> = sqlx::query_as(&format!("{DESTINATION_SELECT} where d.partner_id = $1 and d.destination_id = $2"))
        .bind(partner_id)
        .bind(destination_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(Destination::from))
}

/// Adds a destination; returns its id (a name already used is a unique violation).
pub async fn insert_destination(tx: &mut Transaction<'static, Any>, partner_id: i64, d: &ValidDestination, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into storage_destination (partner_id, name, name_key, provider, kind, location, region, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning destination_id",
    )
    .bind(partner_id)
    .bind(d.name.as_str())
    .bind(d.name.to_lowercase())
    .bind(d.provider.as_str())
    .bind(kind_str(d.provider.kind()))
    .bind(d.location.as_str())
    .bind(d.region.as_deref())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

fn kind_str(kind: DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Bucket => "bucket",
        DestinationKind::Container => "container",
        DestinationKind::RootFolder => "root_folder",
    }
}

/// Changes a destination; false when the partner has none with this id.
pub async fn update_destination(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    id: i64,
    d: &ValidDestination,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update storage_destination set name = $1, name_key = $2, provider = $3, kind = $4, location = $5, region = $6, updated_at = $7 \
         where partner_id = $8 and destination_id = $9",
    )
    .bind(d.name.as_str())
    .bind(d.name.to_lowercase())
    .bind(d.provider.as_str())
    .bind(kind_str(d.provider.kind()))
    .bind(d.location.as_str())
    .bind(d.region.as_deref())
    .bind(now)
    .bind(partner_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn table_of(item: StorageItem) -> (&'static str, &'static str) {
    match item {
        StorageItem::Destination => ("storage_destination", "destination_id"),
        StorageItem::Package => ("storage_package", "package_id"),
    }
}

/// Retires (`retired` true) or reactivates one.
pub async fn set_retired(
    tx: &mut Transaction<'static, Any>,
    item: StorageItem,
    partner_id: i64,
    id: i64,
    retired: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (table, key) = table_of(item);
    sqlx::query(&format!("update {table} set retired_at = $1, updated_at = $2 where partner_id = $3 and {key} = $4"))
        .bind(retired.then_some(now))
        .bind(now)
        .bind(partner_id)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The name of one of the partner's destinations or packages.
pub async fn name_of(tx: &mut Transaction<'static, Any>, item: StorageItem, partner_id: i64, id: i64) -> Result<Option<String>, sqlx::Error> {
    let (table, key) = table_of(item);
    sqlx::query_scalar(&format!("select name from {table} where partner_id = $1 and {key} = $2"))
        .bind(partner_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Live backup users using one.
pub async fn users_of(tx: &mut Transaction<'static, Any>, item: StorageItem, partner_id: i64, id: i64) -> Result<i64, sqlx::Error> {
    let (_, column) = table_of(item);
    sqlx::query_scalar(&format!("select count(*) from backup_user where partner_id = $1 and {column} = $2 and deleted_at is null"))
        .bind(partner_id)
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// Deletes an unused one: contacts that had it chosen lose the choice.
pub async fn delete(tx: &mut Transaction<'static, Any>, item: StorageItem, partner_id: i64, id: i64) -> Result<(), sqlx::Error> {
    let (table, key) = table_of(item);
    sqlx::query(&format!("update autotask_contact set {key} = null where partner_id = $1 and {key} = $2"))
        .bind(partner_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(&format!("delete from {table} where partner_id = $1 and {key} = $2")).bind(partner_id).bind(id).execute(&mut **tx).await.map(|_| ())
}

/// The partner's packages by name.
pub async fn packages(db: &Db, partner_id: i64) -> Result<Vec<Package>, sqlx::Error> {
    let rows: Vec<PackageRow> =
        sqlx::query_as(&format!("{PACKAGE_SELECT} where p.partner_id = $1 order by p.name_key")).bind(partner_id).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(Package::from).collect())
}

/// One package of the partner.
pub async fn package(db: &Db, partner_id: i64, package_id: i64) -> Result<Option<Package>, sqlx::Error> {
    let row: Option<PackageRow> = sqlx::query_as(&format!("{PACKAGE_SELECT} where p.partner_id = $1 and p.package_id = $2"))
        .bind(partner_id)
        .bind(package_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(Package::from))
}

/// Adds a package; returns its id.
pub async fn insert_package(tx: &mut Transaction<'static, Any>, partner_id: i64, p: &ValidPackage, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into storage_package (partner_id, name, name_key, limit_gb, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) returning package_id",
    )
    .bind(partner_id)
    .bind(p.name.as_str())
    .bind(p.name.to_lowercase())
    .bind(p.limit_gb)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// Changes a package; false when the partner has none with this id.
pub async fn update_package(tx: &mut Transaction<'static, Any>, partner_id: i64, id: i64, p: &ValidPackage, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("update storage_package set name = $1, name_key = $2, limit_gb = $3, updated_at = $4 where partner_id = $5 and package_id = $6")
            .bind(p.name.as_str())
            .bind(p.name.to_lowercase())
            .bind(p.limit_gb)
            .bind(now)
            .bind(partner_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a destination and a package exist for the partner and are not retired:
/// (destination usable, package usable).
pub async fn usable(db: &Db, partner_id: i64, destination_id: i64, package_id: i64) -> Result<(bool, bool), sqlx::Error> {
    let (d, p): (i64, i64) = sqlx::query_as(
        "select (select count(*) from storage_destination where partner_id = $1 and destination_id = $2 and retired_at is null), \
         (select count(*) from storage_package where partner_id = $1 and package_id = $3 and retired_at is null)",
    )
    .bind(partner_id)
    .bind(destination_id)
    .bind(package_id)
    .fetch_one(&db.pool)
    .await?;
    Ok((d == 1, p == 1))
}
