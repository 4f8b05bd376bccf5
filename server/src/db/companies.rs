//! Discovered Autotask companies (`autotask_company`): saved by discovery in batches,
//! listed by the Companies page with its filters, read by import and the Customer Map,
//! and marked with the outcome of their import. Every query is filtered by partner.

use super::dynamic::{bind_all, bind_all_as, in_list, page_bounds, search_sql, Arg};
use super::Db;
use app::regions::region_for;
use app::types::companies::{CompanyFilter, CompanyQuery, CompanyRow, CompanySort, ImportStatus, StatusFilter, TypeOption, MAX_PAGE_SIZE};
use sqlx::{Any, Transaction};
use std::collections::HashSet;

/// One company as discovery saves it.
#[derive(Debug, Clone, Default)]
pub struct DiscoveredCompany {
    /// Autotask id.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// Company type value.
    pub company_type: Option<i64>,
    /// Its label.
    pub type_label: String,
    /// Active in Autotask.
    pub is_active: bool,
    /// Address line 1.
    pub address1: Option<String>,
    /// Address line 2.
    pub address2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Autotask country id.
    pub country_id: Option<i64>,
    /// ISO code of the country.
    pub country_code: Option<String>,
    /// The country's name.
    pub country_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Web site.
    pub web_address: Option<String>,
    /// The primary contact's id.
    pub contact_id: Option<i64>,
    /// Its first name.
    pub contact_first: Option<String>,
    /// Its last name.
    pub contact_last: Option<String>,
    /// Its email.
    pub contact_email: Option<String>,
    /// It is inactive in Autotask.
    pub contact_inactive: bool,
    /// Why it would fail to import, if it would.
    pub problem: Option<String>,
}

const SAVE_COLUMNS: &[&str] = &[
    "partner_id",
    "company_id",
    "name",
    "name_key",
    "company_type",
    "type_label",
    "is_active",
    "address1",
    "address2",
    "city",
    "state",
    "postal_code",
    "country_id",
    "country_code",
    "country_name",
    "phone",
    "web_address",
    "contact_id",
    "contact_first",
    "contact_last",
    "contact_email",
    "contact_inactive",
    "problem",
    "seen_at",
];

/// Saves up to ~100 companies in one statement (insert or refresh; seen now, not missing).
pub async fn save_batch(db: &Db, partner_id: i64, rows: &[DiscoveredCompany], seen_at: i64) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = SAVE_COLUMNS.len();
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let params: Vec<String> = (1..=n).map(|c| format!("${}", i * n + c)).collect();
            format!("({}, 0)", params.join(", "))
        })
        .collect();
    let updates: Vec<String> = SAVE_COLUMNS.iter().skip(2).map(|c| format!("{c} = excluded.{c}")).collect();
    let sql = format!(
        "insert into autotask_company ({}, missing) values {} on conflict (partner_id, company_id) do update set {}, missing = 0",
        SAVE_COLUMNS.join(", "),
        values.join(", "),
        updates.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for c in rows {
        q = q
            .bind(partner_id)
            .bind(c.company_id)
            .bind(c.name.as_str())
            .bind(c.name.to_lowercase())
            .bind(c.company_type)
            .bind(c.type_label.as_str())
            .bind(i64::from(c.is_active))
            .bind(c.address1.as_deref())
            .bind(c.address2.as_deref())
            .bind(c.city.as_deref())
            .bind(c.state.as_deref())
            .bind(c.postal_code.as_deref())
            .bind(c.country_id)
            .bind(c.country_code.as_deref())
            .bind(c.country_name.as_deref())
            .bind(c.phone.as_deref())
            .bind(c.web_address.as_deref())
            .bind(c.contact_id)
            .bind(c.contact_first.as_deref())
            .bind(c.contact_last.as_deref())
            .bind(c.contact_email.as_deref())
            .bind(i64::from(c.contact_inactive))
            .bind(c.problem.as_deref())
            .bind(seen_at);
    }
    q.execute(&db.pool).await.map(|_| ())
}

/// Stores one company fetched by hand (an Autotask ID typed on the Customer Map), unless
/// discovery already has it.
pub async fn insert_if_absent(db: &Db, partner_id: i64, c: &DiscoveredCompany, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into autotask_company (partner_id, company_id, name, name_key, company_type, type_label, is_active, address1, city, state, postal_code, \
         country_id, seen_at, missing) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0) on conflict (partner_id, company_id) do nothing",
    )
    .bind(partner_id)
    .bind(c.company_id)
    .bind(c.name.as_str())
    .bind(c.name.to_lowercase())
    .bind(c.company_type)
    .bind(c.type_label.as_str())
    .bind(i64::from(c.is_active))
    .bind(c.address1.as_deref())
    .bind(c.city.as_deref())
    .bind(c.state.as_deref())
    .bind(c.postal_code.as_deref())
    .bind(c.country_id)
    .bind(now)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// How many discovered companies are still in Autotask.
pub async fn count_present(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from autotask_company where partner_id = $1 and missing = 0").bind(partner_id).fetch_one(&db.pool).await
}

/// How many companies were ever discovered.
pub async fn count(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from autotask_company where partner_id = $1").bind(partner_id).fetch_one(&db.pool).await
}

/// Marks the companies a discovery started at `started` did not see; returns how many.
pub async fn mark_missing(db: &Db, partner_id: i64, started: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("update autotask_company set missing = 1 where partner_id = $1 and seen_at < $2 and missing = 0")
        .bind(partner_id)
        .bind(started)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// The `where` clause of a filter (the partner is always `$1`).
pub(crate) fn filter_sql(partner_id: i64, filter: &CompanyFilter) -> (String, Vec<Arg>) {
    let mut sql = "partner_id = $1".to_string();
    let mut args = vec![Arg::Int(partner_id)];
    let next = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    sql.push_str(&search_sql(&filter.search, "name_key", "company_id", &mut args));
    if let Some(t) = filter.company_type {
        let p = next(&mut args, Arg::Int(t));
        sql.push_str(&format!(" and company_type = {p}"));
    }
    if let Some(active) = filter.active {
        let p = next(&mut args, Arg::Int(i64::from(active)));
        sql.push_str(&format!(" and is_active = {p}"));
    }
    match filter.status {
        None => {}
        Some(StatusFilter::NotImported) => sql.push_str(" and import_status is null"),
        Some(StatusFilter::Imported) => sql.push_str(" and import_status = 'imported'"),
        Some(StatusFilter::Failed) => sql.push_str(" and import_status = 'failed'"),
        Some(StatusFilter::Problem) => sql.push_str(" and import_status is null and problem is not null"),
    }
    (sql, args)
}

fn order_sql(sort: CompanySort) -> &'static str {
    match sort {
        CompanySort::Name => "name_key, company_id",
        CompanySort::NameDesc => "name_key desc, company_id desc",
        CompanySort::Id => "company_id",
        CompanySort::Country => "coalesce(country_name, ''), name_key, company_id",
        CompanySort::Status => {
            "case when import_status = 'failed' then 0 when import_status is null and problem is not null then 1 when import_status is null then 2 else 3 end, name_key, company_id"
        }
    }
}

/// The ids of every company matching a filter, by name.
pub async fn ids_matching(db: &Db, partner_id: i64, filter: &CompanyFilter) -> Result<Vec<i64>, sqlx::Error> {
    let (where_sql, args) = filter_sql(partner_id, filter);
    let sql = format!("select company_id from autotask_company where {where_sql} order by name_key, company_id");
    let rows: Vec<(i64,)> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Which of `ids` the partner has discovered.
pub async fn discovered_ids(db: &Db, partner_id: i64, ids: &[i64]) -> Result<HashSet<i64>, sqlx::Error> {
    let mut known = HashSet::new();
    for chunk in ids.chunks(500) {
        let (sql, args) = in_list("select company_id from autotask_company where partner_id = $1 and company_id in", partner_id, chunk);
        let rows: Vec<(i64,)> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
        known.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(known)
}

/// What the import rules read of a discovered company.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportSource {
    /// Autotask id.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// 1 when active in Autotask.
    pub is_active: i64,
    /// Address line 1.
    pub address1: Option<String>,
    /// Address line 2.
    pub address2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO code of the country.
    pub country_code: Option<String>,
    /// The country's name.
    pub country_name: Option<String>,
    /// The primary contact's id.
    pub contact_id: Option<i64>,
    /// Its first name.
    pub contact_first: Option<String>,
    /// Its last name.
    pub contact_last: Option<String>,
    /// Its email.
    pub contact_email: Option<String>,
    /// 1 when it is inactive in Autotask.
    pub contact_inactive: i64,
    /// 1 when the latest discovery did not see it.
    pub missing: i64,
}

const IMPORT_COLUMNS: &str = "company_id, name, is_active, address1, address2, city, state, postal_code, country_code, country_name, \
     contact_id, contact_first, contact_last, contact_email, contact_inactive, missing";

/// What the import rules read of these companies (at most ~500 at a time), by id.
pub async fn import_sources(db: &Db, partner_id: i64, ids: &[i64]) -> Result<Vec<ImportSource>, sqlx::Error> {
    let (sql, args) = in_list(&format!("select {IMPORT_COLUMNS} from autotask_company where partner_id = $1 and company_id in"), partner_id, ids);
    bind_all_as(sqlx::query_as(&format!("{sql} order by company_id")), &args).fetch_all(&db.pool).await
}

/// What the import rules read of one company, inside a transaction.
pub async fn import_source(tx: &mut Transaction<'static, Any>, partner_id: i64, company_id: i64) -> Result<ImportSource, sqlx::Error> {
    sqlx::query_as(&format!("select {IMPORT_COLUMNS} from autotask_company where partner_id = $1 and company_id = $2"))
        .bind(partner_id)
        .bind(company_id)
        .fetch_one(&mut **tx)
        .await
}

/// Records a company's import outcome (`status`: imported or failed).
pub async fn set_import_status(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    company_id: i64,
    status: &str,
    message: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update autotask_company set import_status = $1, import_message = $2, import_at = $3 where partner_id = $4 and company_id = $5")
        .bind(status)
        .bind(message)
        .bind(now)
        .bind(partner_id)
        .bind(company_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// A row of the Companies list.
#[derive(Debug, sqlx::FromRow)]
struct ListRow {
    company_id: i64,
    name: String,
    type_label: String,
    is_active: i64,
    city: Option<String>,
    state: Option<String>,
    country_code: Option<String>,
    country_name: Option<String>,
    phone: Option<String>,
    web_address: Option<String>,
    contact_id: Option<i64>,
    contact_first: Option<String>,
    contact_last: Option<String>,
    contact_email: Option<String>,
    problem: Option<String>,
    import_status: Option<String>,
    import_message: Option<String>,
    import_at: Option<i64>,
    missing: i64,
}

fn place(city: &Option<String>, state: &Option<String>) -> String {
    [city, state].iter().filter_map(|v| v.as_deref().map(str::trim).filter(|s| !s.is_empty())).collect::<Vec<_>>().join(", ")
}

impl From<ListRow> for CompanyRow {
    fn from(r: ListRow) -> Self {
        let status = match r.import_status.as_deref() {
            Some("imported") => ImportStatus::Imported,
            Some("failed") => ImportStatus::Failed,
            _ => ImportStatus::NotImported,
        };
        CompanyRow {
            company_id: r.company_id,
            name: r.name,
            type_label: r.type_label,
            active: r.is_active != 0,
            place: place(&r.city, &r.state),
            region: region_for(r.country_code.as_deref().unwrap_or("US")).to_string(),
            country_code: r.country_code,
            country_name: r.country_name,
            phone: r.phone.filter(|p| !p.trim().is_empty()),
            web: r.web_address.filter(|w| !w.trim().is_empty()),
            contact: r.contact_id.map(|_| {
                let name = format!("{} {}", r.contact_first.unwrap_or_default(), r.contact_last.unwrap_or_default());
                (name.trim().to_string(), r.contact_email.unwrap_or_default())
            }),
            reason: match status {
                ImportStatus::Failed | ImportStatus::Imported => r.import_message,
                ImportStatus::NotImported => r.problem.clone(),
            },
            problem: r.problem,
            status,
            missing: r.missing != 0,
            import_at: r.import_at,
        }
    }
}

/// One page of the Companies list: (rows, total, page, per page).
pub async fn page(db: &Db, partner_id: i64, query: &CompanyQuery) -> Result<(Vec<CompanyRow>, i64, u32, u32), sqlx::Error> {
    let (where_sql, args) = filter_sql(partner_id, &query.filter);
    let count = format!("select count(*) from autotask_company where {where_sql}");
    let total: i64 = bind_all(sqlx::query(&count), &args).fetch_one(&db.pool).await.and_then(|r| sqlx::Row::try_get(&r, 0))?;
    let (page, per_page, offset) = page_bounds(total, query.page, query.per_page, MAX_PAGE_SIZE);
    let sql = format!(
        "select company_id, name, type_label, is_active, city, state, country_code, country_name, phone, web_address, contact_id, contact_first, contact_last, \
         contact_email, problem, import_status, import_message, import_at, missing from autotask_company where {where_sql} order by {} \
         limit {per_page} offset {offset}",
        order_sql(query.sort)
    );
    let rows: Vec<ListRow> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok((rows.into_iter().map(CompanyRow::from).collect(), total, page, per_page))
}

/// The company types among the partner's discovered companies, with counts, by label.
pub async fn types(db: &Db, partner_id: i64) -> Result<Vec<TypeOption>, sqlx::Error> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "select company_type, type_label, count(*) from autotask_company where partner_id = $1 and company_type is not null \
         group by company_type, type_label order by type_label",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|(value, label, count)| TypeOption { value, label, count }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::dynamic::like_escape;

    #[test]
    fn search_patterns_escape_like_wildcards() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
        let (sql, args) =
            filter_sql(7, &CompanyFilter { search: "1042".into(), company_type: Some(1), active: Some(true), status: Some(StatusFilter::Problem) });
        assert_eq!(
            sql,
            "partner_id = $1 and (name_key like $2 escape '\\' or company_id = $3) and company_type = $4 and is_active = $5 and import_status is null and problem is not null"
        );
        assert_eq!(args.len(), 5);
    }
}
