//! Autotask contacts (`autotask_contact`): saved by "Get Autotask contacts" in batches,
//! listed by the Contacts page with their integration status (computed here, in SQL,
//! from the backup user imported from each), their import choices, and what import reads.
//! Every query is filtered by partner.

mod list;
mod status;

pub use list::{ids_matching, page, ListRow};
pub(crate) use status::SAME_COMPANY_VALUE_SQL;
pub use status::{refresh_status, status_of, SIGNATURE_SQL};

use super::dynamic::{bind_all, bind_all_as, bind_all_scalar, in_list, Arg};
use super::Db;
use sqlx::{Any, Transaction};

/// One contact as a fetch saves it.
#[derive(Debug, Clone, Default)]
pub struct FetchedContact {
    /// Autotask id.
    pub contact_id: i64,
    /// Its company.
    pub company_id: Option<i64>,
    /// The company's lower-cased name, when discovered ('' otherwise).
    pub company_key: String,
    /// First name ('' when Autotask has none).
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// Active in Autotask.
    pub is_active: bool,
}

/// Lower-cased "first last", the sort key (the order the names are shown in).
pub fn name_key(first: &str, last: &str) -> String {
    format!("{} {}", first.trim(), last.trim()).trim().to_lowercase()
}

/// Saves up to ~100 contacts in one statement (insert or refresh; seen now, not missing).
/// The import choices and the last failure are kept.
pub async fn save_batch(db: &Db, partner_id: i64, rows: &[FetchedContact], seen_at: i64) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    const N: usize = 11;
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let params: Vec<String> = (1..=N).map(|c| format!("${}", i * N + c)).collect();
            format!("({}, 0)", params.join(", "))
        })
        .collect();
    let sql = format!(
        "insert into autotask_contact (partner_id, contact_id, company_id, first_name, last_name, email, name_key, search_key, company_key, is_active, \
         seen_at, missing) values {} on conflict (partner_id, contact_id) do update set company_id = excluded.company_id, \
         first_name = excluded.first_name, last_name = excluded.last_name, email = excluded.email, name_key = excluded.name_key, \
         search_key = excluded.search_key, company_key = excluded.company_key, is_active = excluded.is_active, seen_at = excluded.seen_at, missing = 0",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for c in rows {
        let search = format!("{} {} {}", c.first_name, c.last_name, c.email).to_lowercase();
        q = q
            .bind(partner_id)
            .bind(c.contact_id)
            .bind(c.company_id)
            .bind(c.first_name.as_str())
            .bind(c.last_name.as_str())
            .bind(c.email.as_str())
            .bind(name_key(&c.first_name, &c.last_name))
            .bind(search)
            .bind(c.company_key.as_str())
            .bind(i64::from(c.is_active))
            .bind(seen_at);
    }
    q.execute(&db.pool).await.map(|_| ())
}

/// How many contacts were ever fetched.
pub async fn count(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from autotask_contact where partner_id = $1").bind(partner_id).fetch_one(&db.pool).await
}

/// How many contacts the latest fetch saw.
pub async fn count_present(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from autotask_contact where partner_id = $1 and missing = 0").bind(partner_id).fetch_one(&db.pool).await
}

/// Marks the contacts a fetch started at `started` did not see; returns how many.
pub async fn mark_missing(db: &Db, partner_id: i64, started: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("update autotask_contact set missing = 1 where partner_id = $1 and seen_at < $2 and missing = 0")
        .bind(partner_id)
        .bind(started)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// The live backup user imported from the contact `c` (aliases: `c` contact, `u` user).
const USER_JOIN: &str = " left join backup_user u on u.partner_id = c.partner_id and u.contact_id = c.contact_id";
/// The contact's company as discovered (alias `co`).
const COMPANY_JOIN: &str = " left join autotask_company co on co.partner_id = c.partner_id and co.company_id = c.company_id";

/// Copies each contact's company name, as discovered, onto it after a company discovery
/// (a contact fetch sets it as it saves), for search and sorting without a join. Only the
/// contacts whose company name changed are written.
pub async fn refresh_company_keys(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    let company = "coalesce((select co.name_key from autotask_company co \
         where co.partner_id = autotask_contact.partner_id and co.company_id = autotask_contact.company_id), '')";
    sqlx::query(&format!("update autotask_contact set company_key = {company} where partner_id = $1 and company_key <> {company}"))
        .bind(partner_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// The partner's discovered companies' lower-cased names, by id.
pub async fn company_keys(db: &Db, partner_id: i64) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("select company_id, name_key from autotask_company where partner_id = $1").bind(partner_id).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().collect())
}

/// Which of `ids` the partner has fetched.
pub async fn known_ids(db: &Db, partner_id: i64, ids: &[i64]) -> Result<std::collections::HashSet<i64>, sqlx::Error> {
    let mut known = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let (list, args) = in_list("contact_id in", partner_id, chunk);
        let sql = format!("select contact_id from autotask_contact where partner_id = $1 and {list}");
        known.extend(bind_all_scalar(sqlx::query_scalar::<_, i64>(&sql), &args).fetch_all(&db.pool).await?);
    }
    Ok(known)
}

/// Sets the destination and/or package chosen for these contacts (not imported ones:
/// their user keeps its own). Returns how many changed.
pub async fn set_choices(db: &Db, partner_id: i64, ids: &[i64], destination_id: Option<i64>, package_id: Option<i64>) -> Result<i64, sqlx::Error> {
    let mut changed = 0;
    for chunk in ids.chunks(500) {
        let (list, mut args) = in_list("contact_id in", partner_id, chunk);
        let mut sets = Vec::new();
        if let Some(d) = destination_id {
            args.push(Arg::Int(d));
            sets.push(format!("destination_id = ${}", args.len()));
        }
        if let Some(p) = package_id {
            args.push(Arg::Int(p));
            sets.push(format!("package_id = ${}", args.len()));
        }
        if sets.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "update autotask_contact set {} where partner_id = $1 and {list} and not exists \
             (select 1 from backup_user u where u.partner_id = autotask_contact.partner_id and u.contact_id = autotask_contact.contact_id)",
            sets.join(", ")
        );
        changed += bind_all(sqlx::query(&sql), &args).execute(&db.pool).await?.rows_affected() as i64;
    }
    Ok(changed)
}

/// Of these contacts: (how many are not imported and lack a destination, lack a package,
/// and how many are imported already).
pub async fn missing_choices(db: &Db, partner_id: i64, ids: &[i64]) -> Result<(i64, i64, i64), sqlx::Error> {
    let (mut no_dest, mut no_pkg, mut imported) = (0, 0, 0);
    for chunk in ids.chunks(500) {
        let (list, args) = in_list("c.contact_id in", partner_id, chunk);
        let sql = format!(
            "select coalesce(sum(case when u.backup_user_id is null and c.destination_id is null then 1 else 0 end), 0), \
             coalesce(sum(case when u.backup_user_id is null and c.package_id is null then 1 else 0 end), 0), \
             coalesce(sum(case when u.backup_user_id is not null then 1 else 0 end), 0) \
             from autotask_contact c{USER_JOIN} where c.partner_id = $1 and {list}"
        );
        let (d, p, i): (i64, i64, i64) = bind_all_as(sqlx::query_as(&sql), &args).fetch_one(&db.pool).await?;
        no_dest += d;
        no_pkg += p;
        imported += i;
    }
    Ok((no_dest, no_pkg, imported))
}

/// What import reads of a contact.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportSource {
    /// Autotask id.
    pub contact_id: i64,
    /// Its company.
    pub company_id: Option<i64>,
    /// The company's name, when discovered.
    pub company_name: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// 1 when the latest fetch did not see it.
    pub missing: i64,
    /// Chosen destination.
    pub destination_id: Option<i64>,
    /// Chosen package.
    pub package_id: Option<i64>,
    /// The live backup user already imported from it.
    pub backup_user_id: Option<i64>,
}

/// What import reads of these contacts (at most ~500 at a time).
pub async fn import_sources(db: &Db, partner_id: i64, ids: &[i64]) -> Result<Vec<ImportSource>, sqlx::Error> {
    let (list, args) = in_list("c.contact_id in", partner_id, ids);
    let sql = format!(
        "select c.contact_id, c.company_id, co.name as company_name, c.first_name, c.last_name, c.email, c.missing, c.destination_id, c.package_id, \
         u.backup_user_id from autotask_contact c{USER_JOIN}{COMPANY_JOIN} where c.partner_id = $1 and {list} order by c.contact_id"
    );
    bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await
}

/// Records a failed import (`message`) or clears the failure (`None`, imported).
pub async fn set_import_outcome(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    contact_id: i64,
    message: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update autotask_contact set import_message = $1, import_at = $2 where partner_id = $3 and contact_id = $4")
        .bind(message)
        .bind(now)
        .bind(partner_id)
        .bind(contact_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The contact's Autotask values, for "Update from Autotask": (first, last, company).
pub async fn autotask_values(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    contact_id: i64,
) -> Result<Option<(String, String, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("select first_name, last_name, company_id from autotask_contact where partner_id = $1 and contact_id = $2")
        .bind(partner_id)
        .bind(contact_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The name of a discovered company.
pub async fn company_name(db: &Db, partner_id: i64, company_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select name from autotask_company where partner_id = $1 and company_id = $2")
        .bind(partner_id)
        .bind(company_id)
        .fetch_optional(&db.pool)
        .await
}
