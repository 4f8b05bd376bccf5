//! Backup users (`backup_user`): created by contact import, listed and edited on the
//! Backup users page, read by the machine API. Deleted users stay as tombstones
//! (`deleted_at`) so changed-since readers see the deletion. Every query is filtered by partner.

use super::contacts::{SAME_COMPANY_VALUE_SQL, SIGNATURE_SQL};
use super::dynamic::{bind_all_as, bind_all_scalar, like_escape, page_bounds, Arg};
use super::Db;
use app::types::contacts::BackupUserFilter;
use sqlx::{Any, Transaction};

/// A backup user to create.
#[derive(Debug, Clone)]
pub struct NewBackupUser<'a> {
    /// Its customer.
    pub customer_id: i64,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// Email (the login).
    pub email: &'a str,
    /// Destination.
    pub destination_id: i64,
    /// Package.
    pub package_id: i64,
    /// The Autotask contact it comes from.
    pub contact_id: Option<i64>,
}

/// Creates a user; a live user with the same email is a unique violation.
pub async fn insert(tx: &mut Transaction<'static, Any>, partner_id: i64, u: &NewBackupUser<'_>, actor: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into backup_user (partner_id, customer_id, first_name, last_name, email, email_key, destination_id, package_id, contact_id, \
         created_at, created_by, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10) returning backup_user_id",
    )
    .bind(partner_id)
    .bind(u.customer_id)
    .bind(u.first_name)
    .bind(u.last_name)
    .bind(u.email)
    .bind(u.email.to_lowercase())
    .bind(u.destination_id)
    .bind(u.package_id)
    .bind(u.contact_id)
    .bind(now)
    .bind(actor)
    .fetch_one(&mut **tx)
    .await
}

/// The live user with this email, other than `except`.
pub async fn with_email(tx: &mut Transaction<'static, Any>, partner_id: i64, email: &str, except: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select backup_user_id from backup_user where partner_id = $1 and email_key = $2 and deleted_at is null and backup_user_id <> $3",
    )
    .bind(partner_id)
    .bind(email.to_lowercase())
    .bind(except)
    .fetch_optional(&mut **tx)
    .await
}

/// The fields an edit changes.
#[derive(Debug, Clone)]
pub struct UserPatch<'a> {
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// Email.
    pub email: &'a str,
    /// Customer.
    pub customer_id: i64,
    /// Destination.
    pub destination_id: i64,
    /// Package.
    pub package_id: i64,
    /// Unlink it from its Autotask contact (its email changed).
    pub unlink: bool,
}

/// Changes a live user; false when the partner has no such live user.
pub async fn update(tx: &mut Transaction<'static, Any>, partner_id: i64, id: i64, p: &UserPatch<'_>, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update backup_user set first_name = $1, last_name = $2, email = $3, email_key = $4, customer_id = $5, destination_id = $6, package_id = $7, \
         contact_id = case when $8 = 1 then null else contact_id end, updated_at = $9 where partner_id = $10 and backup_user_id = $11 and deleted_at is null",
    )
    .bind(p.first_name)
    .bind(p.last_name)
    .bind(p.email)
    .bind(p.email.to_lowercase())
    .bind(p.customer_id)
    .bind(p.destination_id)
    .bind(p.package_id)
    .bind(i64::from(p.unlink))
    .bind(now)
    .bind(partner_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a live user (a tombstone stays, unlinked from its contact); false when there
/// is no such live user.
pub async fn delete(tx: &mut Transaction<'static, Any>, partner_id: i64, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update backup_user set deleted_at = $1, updated_at = $1, contact_id = null, kept_signature = null \
         where partner_id = $2 and backup_user_id = $3 and deleted_at is null",
    )
    .bind(now)
    .bind(partner_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// "Keep Taskbridge's": remembers both sides as they are now.
pub async fn keep_difference(tx: &mut Transaction<'static, Any>, partner_id: i64, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "update backup_user set kept_signature = (select {SIGNATURE_SQL} from backup_user u join autotask_contact c \
         on c.partner_id = u.partner_id and c.contact_id = u.contact_id where u.backup_user_id = backup_user.backup_user_id), updated_at = $1 \
         where partner_id = $2 and backup_user_id = $3 and deleted_at is null and contact_id is not null"
    ))
    .bind(now)
    .bind(partner_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// "Update from Autotask": the contact's name and a customer of its company.
pub async fn take_autotask(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    id: i64,
    first: &str,
    last: &str,
    customer_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update backup_user set first_name = $1, last_name = $2, customer_id = $3, kept_signature = null, updated_at = $4 \
         where partner_id = $5 and backup_user_id = $6 and deleted_at is null",
    )
    .bind(first)
    .bind(last)
    .bind(customer_id)
    .bind(now)
    .bind(partner_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A backup user with what the pages and the API show of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    /// Id.
    pub backup_user_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// Customer.
    pub customer_id: i64,
    /// Its name.
    pub customer_name: String,
    /// Its reference at the backup platform.
    pub customer_ref: Option<String>,
    /// Destination.
    pub destination_id: i64,
    /// Its name ('' when deleted since).
    pub destination_name: Option<String>,
    /// Package.
    pub package_id: i64,
    /// Its name.
    pub package_name: Option<String>,
    /// Its limit.
    pub limit_gb: Option<i64>,
    /// The linked contact.
    pub contact_id: Option<i64>,
    /// The contact's first name.
    pub contact_first: Option<String>,
    /// The contact's last name.
    pub contact_last: Option<String>,
    /// The contact's company.
    pub contact_company_id: Option<i64>,
    /// That company's name.
    pub contact_company_name: Option<String>,
    /// Status number (see `contacts::status_of`) when linked.
    pub status: Option<i64>,
    /// 1 when its customer is linked to the contact's company.
    pub same_company: i64,
    /// Created.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Deleted (tombstone).
    pub deleted_at: Option<i64>,
}

fn select_sql() -> String {
    format!(
        "select u.backup_user_id, u.first_name, u.last_name, u.email, u.customer_id, k.name as customer_name, k.external_ref as customer_ref, \
         u.destination_id, d.name as destination_name, u.package_id, p.name as package_name, p.limit_gb, u.contact_id, c.first_name as contact_first, \
         c.last_name as contact_last, c.company_id as contact_company_id, co.name as contact_company_name, \
         case when c.contact_id is null then null else c.status end as status, {SAME_COMPANY_VALUE_SQL} as same_company, u.created_at, u.updated_at, u.deleted_at \
         from backup_user u join customer k on k.customer_id = u.customer_id \
         left join storage_destination d on d.destination_id = u.destination_id left join storage_package p on p.package_id = u.package_id \
         left join autotask_contact c on c.partner_id = u.partner_id and c.contact_id = u.contact_id \
         left join autotask_company co on co.partner_id = c.partner_id and co.company_id = c.company_id"
    )
}

fn filter_sql(partner_id: i64, f: &BackupUserFilter) -> (String, Vec<Arg>) {
    let mut sql = "u.partner_id = $1 and u.deleted_at is null".to_string();
    let mut args = vec![Arg::Int(partner_id)];
    let next = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let search = f.search.trim();
    if !search.is_empty() {
        let like = next(&mut args, Arg::Text(format!("%{}%", like_escape(&search.to_lowercase()))));
        sql.push_str(&format!(" and (lower(u.first_name || ' ' || u.last_name) like {like} escape '\\' or u.email_key like {like} escape '\\')"));
    }
    for (value, column) in [(f.customer_id, "u.customer_id"), (f.destination_id, "u.destination_id"), (f.package_id, "u.package_id")] {
        if let Some(v) = value {
            let p = next(&mut args, Arg::Int(v));
            sql.push_str(&format!(" and {column} = {p}"));
        }
    }
    match f.linked {
        Some(true) => sql.push_str(" and u.contact_id is not null"),
        Some(false) => sql.push_str(" and u.contact_id is null"),
        None => {}
    }
    (sql, args)
}

/// One page of live users by name: (rows, total, page, per page).
pub async fn page(
    db: &Db,
    partner_id: i64,
    filter: &BackupUserFilter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<UserRow>, i64, u32, u32), sqlx::Error> {
    let (where_sql, args) = filter_sql(partner_id, filter);
    let total: i64 =
        bind_all_scalar(sqlx::query_scalar(&format!("select count(*) from backup_user u where {where_sql}")), &args).fetch_one(&db.pool).await?;
    let (page, per_page, offset) = page_bounds(total, page, per_page, 200);
    let sql = format!(
        "{} where {where_sql} order by lower(u.first_name), lower(u.last_name), u.backup_user_id limit {per_page} offset {offset}",
        select_sql()
    );
    let rows = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok((rows, total, page, per_page))
}

/// Live users of the partner.
pub async fn count(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from backup_user where partner_id = $1 and deleted_at is null").bind(partner_id).fetch_one(&db.pool).await
}

/// One live user of the partner.
pub async fn get(db: &Db, partner_id: i64, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("{} where u.partner_id = $1 and u.backup_user_id = $2 and u.deleted_at is null", select_sql()))
        .bind(partner_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// A live user's stored fields, read inside the transaction that changes it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Current {
    /// The linked contact.
    pub contact_id: Option<i64>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// Customer.
    pub customer_id: i64,
    /// Destination.
    pub destination_id: i64,
    /// Package.
    pub package_id: i64,
}

/// One live user inside a transaction.
pub async fn current(tx: &mut Transaction<'static, Any>, partner_id: i64, id: i64) -> Result<Option<Current>, sqlx::Error> {
    sqlx::query_as(
        "select contact_id, first_name, last_name, email, customer_id, destination_id, package_id from backup_user \
         where partner_id = $1 and backup_user_id = $2 and deleted_at is null",
    )
    .bind(partner_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Users changed after `(updated_at, id)` and at or before `until`, tombstones included,
/// oldest change first.
pub async fn changed_after(db: &Db, partner_id: i64, after: (i64, i64), until: i64, limit: i64) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{} where u.partner_id = $1 and (u.updated_at > $2 or (u.updated_at = $2 and u.backup_user_id > $3)) and u.updated_at <= $4 \
         order by u.updated_at, u.backup_user_id limit $5",
        select_sql()
    ))
    .bind(partner_id)
    .bind(after.0)
    .bind(after.1)
    .bind(until)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}
