//! The Contacts page's list: filters, sorts and pages over the contact's own columns
//! (indexed), then the shown rows joined with their backup user, company and customers.

use super::super::dynamic::{bind_all_as, bind_all_scalar, like_escape, page_bounds, Arg};
use super::super::Db;
use super::status::{rank_of, SAME_COMPANY_VALUE_SQL};
use super::{COMPANY_JOIN, USER_JOIN};
use app::types::contacts::{ContactFilter, ContactQuery, ContactSort};

/// The `where` clause of a filter over `autotask_contact c` (the partner is always `$1`):
/// every filter reads the contact's own columns, so a count needs no join.
fn filter_sql(partner_id: i64, filter: &ContactFilter) -> (String, Vec<Arg>) {
    let mut sql = "c.partner_id = $1".to_string();
    let mut args = vec![Arg::Int(partner_id)];
    let next = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let search = filter.search.trim();
    if !search.is_empty() {
        let like = next(&mut args, Arg::Text(format!("%{}%", like_escape(&search.to_lowercase()))));
        let id = match search.parse::<i64>() {
            Ok(id) => format!(" or c.contact_id = {}", next(&mut args, Arg::Int(id))),
            Err(_) => String::new(),
        };
        sql.push_str(&format!(" and (c.search_key like {like} escape '\\' or c.company_key like {like} escape '\\'{id})"));
    }
    if let Some(status) = filter.status {
        sql.push_str(&format!(" and c.status = {}", rank_of(status)));
    }
    if let Some(company) = filter.company_id {
        let p = next(&mut args, Arg::Int(company));
        sql.push_str(&format!(" and c.company_id = {p}"));
    }
    if let Some(customer) = filter.customer_id {
        let p = next(&mut args, Arg::Int(customer));
        sql.push_str(&format!(" and c.company_id in (select l.company_id from customer_link l where l.partner_id = $1 and l.customer_id = {p})"));
    }
    if let Some(active) = filter.active {
        let p = next(&mut args, Arg::Int(i64::from(active)));
        sql.push_str(&format!(" and c.is_active = {p}"));
    }
    (sql, args)
}

fn order_sql(sort: ContactSort) -> &'static str {
    match sort {
        ContactSort::Name => "c.name_key, c.contact_id",
        ContactSort::NameDesc => "c.name_key desc, c.contact_id desc",
        ContactSort::Email => "c.email, c.contact_id",
        ContactSort::Company => "c.company_key, c.name_key, c.contact_id",
        // Failed, then Modified, then Equal, then blank (the stored rank).
        ContactSort::Status => "c.status, c.name_key, c.contact_id",
    }
}

/// A row of the Contacts list.
#[derive(Debug, sqlx::FromRow)]
pub struct ListRow {
    /// Rows matching the filter, when counted in the same scan (else 0).
    pub total: i64,
    /// Autotask id.
    pub contact_id: i64,
    /// Its company.
    pub company_id: Option<i64>,
    /// The company's name, when discovered.
    pub company_name: Option<String>,
    /// First name in Autotask.
    pub first_name: String,
    /// Last name in Autotask.
    pub last_name: String,
    /// Email in Autotask.
    pub email: String,
    /// 1 when active.
    pub is_active: i64,
    /// 1 when the latest fetch did not see it.
    pub missing: i64,
    /// Why its import failed.
    pub import_message: Option<String>,
    /// Chosen destination.
    pub destination_id: Option<i64>,
    /// Chosen package.
    pub package_id: Option<i64>,
    /// Stored status rank (see [`status_of`]).
    pub status: i64,
    /// 1 when the user's customer is linked to the contact's company.
    pub same_company: i64,
    /// The backup user, when imported.
    pub backup_user_id: Option<i64>,
    /// Its first name.
    pub user_first: Option<String>,
    /// Its last name.
    pub user_last: Option<String>,
    /// Its customer.
    pub user_customer_id: Option<i64>,
    /// That customer's name.
    pub user_customer_name: Option<String>,
    /// Its destination.
    pub user_destination_id: Option<i64>,
    /// Its package.
    pub user_package_id: Option<i64>,
    /// The customer the company is mapped to (first by name).
    pub mapped_customer_id: Option<i64>,
    /// Its name.
    pub mapped_customer_name: Option<String>,
}

/// One page of the Contacts list: (rows, total, page, per page). The page's ids are found
/// first on the contact's own columns (an index serves every filter and sort), then only
/// those rows are joined with their user, company and customers. A search reads every
/// row anyway, so its count comes from the same scan (`count(*) over ()`); other filters
/// count on an index first.
pub async fn page(db: &Db, partner_id: i64, query: &ContactQuery) -> Result<(Vec<ListRow>, i64, u32, u32), sqlx::Error> {
    let (where_sql, args) = filter_sql(partner_id, &query.filter);
    if !query.filter.search.trim().is_empty() {
        let (page, per_page, offset) = page_bounds(i64::MAX / 2, query.page, query.per_page, MAX_PAGE);
        let rows = page_rows(db, &Source::Search(&where_sql), &args, query.sort, per_page, offset).await?;
        if let Some(first) = rows.first() {
            let total = first.total;
            return Ok((rows, total, page, per_page));
        }
        if page == 1 {
            return Ok((rows, 0, 1, per_page));
        }
        // Past the last page: count, then show the last page.
    }
    let count = format!("select count(*) from autotask_contact c where {where_sql}");
    let total: i64 = bind_all_scalar(sqlx::query_scalar(&count), &args).fetch_one(&db.pool).await?;
    let (page, per_page, offset) = page_bounds(total, query.page, query.per_page, MAX_PAGE);
    let rows = page_rows(db, &Source::Indexed(&where_sql), &args, query.sort, per_page, offset).await?;
    Ok((rows, total, page, per_page))
}

/// Where a page's ids come from.
enum Source<'a> {
    /// A filter an index serves in the page's order: read up to the page.
    Indexed(&'a str),
    /// A search: its matches are gathered first (a trigram index on PostgreSQL; a scan on
    /// SQLite), counted and sorted. Materialised, so no planner walks the whole table in
    /// the page's order hoping to stop early.
    Search(&'a str),
}

/// Largest page.
const MAX_PAGE: u32 = 200;

/// The first customer (by name) the contact's company is linked to: the rest of a
/// correlated `select ... limit 1` (one index lookup per shown row, on both databases).
const MAPPED: &str = "from customer_link l join customer k on k.customer_id = l.customer_id \
     where l.partner_id = c.partner_id and l.company_id = c.company_id order by k.name_key, k.customer_id limit 1";

async fn page_rows(db: &Db, source: &Source<'_>, args: &[Arg], sort: ContactSort, limit: u32, offset: i64) -> Result<Vec<ListRow>, sqlx::Error> {
    let order = order_sql(sort);
    let shown = match source {
        Source::Indexed(where_sql) => {
            format!(
                "shown as (select c.contact_id, 0 as total from autotask_contact c where {where_sql} order by {order} limit {limit} offset {offset})"
            )
        }
        Source::Search(where_sql) => format!(
            "matched as materialized (select c.contact_id, c.name_key, c.email, c.company_key, c.status from autotask_contact c where {where_sql}), \
             shown as (select c.contact_id, count(*) over () as total from matched c order by {order} limit {limit} offset {offset})"
        ),
    };
    let sql = format!(
        "with {shown} \
         select shown.total, c.contact_id, c.company_id, co.name as company_name, c.first_name, c.last_name, c.email, c.is_active, c.missing, \
         c.import_message, c.destination_id, c.package_id, c.status, {SAME_COMPANY_VALUE_SQL} as same_company, u.backup_user_id, \
         u.first_name as user_first, u.last_name as user_last, u.customer_id as user_customer_id, uc.name as user_customer_name, \
         u.destination_id as user_destination_id, u.package_id as user_package_id, \
         (select l.customer_id {MAPPED}) as mapped_customer_id, (select k.name {MAPPED}) as mapped_customer_name \
         from shown join autotask_contact c on c.partner_id = $1 and c.contact_id = shown.contact_id{USER_JOIN}{COMPANY_JOIN} \
         left join customer uc on uc.customer_id = u.customer_id \
         order by {order}"
    );
    bind_all_as(sqlx::query_as(&sql), args).fetch_all(&db.pool).await
}

/// The ids of every contact matching a filter, by name.
pub async fn ids_matching(db: &Db, partner_id: i64, filter: &ContactFilter) -> Result<Vec<i64>, sqlx::Error> {
    let (where_sql, args) = filter_sql(partner_id, filter);
    let sql = format!("select c.contact_id from autotask_contact c where {where_sql} order by c.name_key, c.contact_id");
    bind_all_scalar(sqlx::query_scalar(&sql), &args).fetch_all(&db.pool).await
}
