//! The Customer Map's reads and writes: the two paged lists with their links and
//! suggestions, the counts, the matching pass's suggestions and states, the save's link
//! and contract writes, and the CSV export's rows. Every query is filtered by partner.

use super::dynamic::{bind_all, bind_all_as, in_list, page_bounds, search_sql, Arg};
use super::Db;
use app::types::map::{CompanyFilter, CustomerFilter, MapCounts, MapQuery};
use sqlx::{Any, Transaction};
use std::collections::{BTreeSet, HashMap};

mod suggestions;

pub use suggestions::{exact_suggestions, replace_suggestions, suggestions_for, unmatched, NewSuggestion, SuggestionEntry};

const MAX_PAGE: u32 = 200;

/// The six figures above the map, in one round trip.
pub async fn counts(db: &Db, partner_id: i64) -> Result<MapCounts, sqlx::Error> {
    let (customers, customers_matched, companies, companies_matched, suggested, exact): (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from customer where partner_id = $1), \
         (select count(*) from customer where partner_id = $1 and matched = 1), \
         (select count(*) from autotask_company where partner_id = $1), \
         (select count(*) from autotask_company where partner_id = $1 and match_state = 2), \
         (select count(*) from match_suggestion where partner_id = $1), \
         (select count(*) from match_suggestion where partner_id = $1 and score >= 100)",
    )
    .bind(partner_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(MapCounts { customers, customers_matched, companies, companies_matched, suggested, exact })
}

/// A page of rows: (total, page, per page, rows).
pub type Page<T> = (i64, u32, u32, Vec<T>);

/// Counts the rows of `from` matching `where_sql`, then reads the requested page.
async fn paged<T>(db: &Db, columns: &str, from: &str, where_sql: &str, order: &str, args: &[Arg], query: &MapQuery) -> Result<Page<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let count = format!("select count(*) from {from} where {where_sql}");
    let total: i64 = bind_all(sqlx::query(&count), args).fetch_one(&db.pool).await.and_then(|r| sqlx::Row::try_get(&r, 0))?;
    let (page, per_page, offset) = page_bounds(total, query.page, query.per_page, MAX_PAGE);
    // The page's ids come from the (covering) index alone; only those rows are read.
    let id = order.rsplit(", ").next().unwrap_or(order);
    // The outer filter repeats the whole condition (the partner first): ids are only
    // unique within a partner.
    let sql = format!(
        "select {columns} from {from} where {where_sql} and {id} in (select {id} from {from} where {where_sql} order by {order} limit {per_page} offset {offset}) order by {order}"
    );
    let rows = bind_all_as(sqlx::query_as(&sql), args).fetch_all(&db.pool).await?;
    Ok((total, page, per_page, rows))
}

/// A customer on the map's left table.
#[derive(Debug, sqlx::FromRow)]
pub struct CustomerEntry {
    /// Id.
    pub customer_id: i64,
    /// Name.
    pub name: String,
    /// Data region.
    pub region: String,
    /// Its billing contract.
    pub contract_id: Option<i64>,
    /// The contract's name.
    pub contract_name: Option<String>,
    /// The flags it was confirmed with.
    pub contract_flags: Option<String>,
}

/// The condition on customers (alias `c`) of the map's search and filter, with its binds.
fn customer_where(partner_id: i64, query: &MapQuery) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::Int(partner_id)];
    let mut where_sql = "c.partner_id = $1".to_string();
    where_sql.push_str(&search_sql(&query.search, "c.name_key", "c.customer_id", &mut args));
    match query.customers {
        CustomerFilter::All => {}
        CustomerFilter::Matched => where_sql.push_str(" and c.matched = 1"),
        CustomerFilter::Unmatched => where_sql.push_str(" and c.matched = 0"),
    }
    (where_sql, args)
}

/// A page of customers matching the search and filter, by name.
pub async fn customers(db: &Db, partner_id: i64, query: &MapQuery) -> Result<Page<CustomerEntry>, sqlx::Error> {
    let (where_sql, args) = customer_where(partner_id, query);
    let columns = "c.customer_id, c.name, c.region, c.contract_id, c.contract_name, c.contract_flags";
    paged(db, columns, "customer c", &where_sql, "c.name_key, c.customer_id", &args, query).await
}

/// A company on the map's right table.
#[derive(Debug, sqlx::FromRow)]
pub struct CompanyEntry {
    /// Autotask id.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// Company type label.
    pub type_label: String,
    /// Company type value.
    pub company_type: Option<i64>,
    /// 1 when active.
    pub is_active: i64,
    /// 1 when the latest discovery did not see it.
    pub missing: i64,
    /// Main phone.
    pub phone: Option<String>,
    /// Web site.
    pub web_address: Option<String>,
}

/// A page of discovered companies matching the search and filter, by name.
pub async fn companies(db: &Db, partner_id: i64, query: &MapQuery) -> Result<Page<CompanyEntry>, sqlx::Error> {
    let mut args = vec![Arg::Int(partner_id)];
    let mut where_sql = "k.partner_id = $1".to_string();
    where_sql.push_str(&search_sql(&query.search, "k.name_key", "k.company_id", &mut args));
    match query.companies {
        CompanyFilter::All => {}
        CompanyFilter::Matched => where_sql.push_str(" and k.match_state = 2"),
        CompanyFilter::Suggested => where_sql.push_str(" and k.match_state = 1"),
        CompanyFilter::Unmatched => where_sql.push_str(" and k.match_state = 0"),
    }
    let columns = "k.company_id, k.name, k.type_label, k.company_type, k.is_active, k.missing, k.phone, k.web_address";
    paged(db, columns, "autotask_company k", &where_sql, "k.name_key, k.company_id", &args, query).await
}

/// A link with both sides as they are now and as they were when linked.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkEntry {
    /// The customer.
    pub customer_id: i64,
    /// The company.
    pub company_id: i64,
    /// The customer's name when linked.
    pub customer_name_at_link: String,
    /// The company's name when linked.
    pub company_name_at_link: String,
    /// The customer's name now.
    pub customer_name: String,
    /// The company's name now (None: not discovered).
    pub company_name: Option<String>,
    /// 1 when the company is active.
    pub company_active: Option<i64>,
    /// 1 when the latest discovery did not see it.
    pub company_missing: Option<i64>,
    /// Company type value.
    pub company_type: Option<i64>,
    /// Company type label.
    pub type_label: Option<String>,
    /// How many customers share the company.
    pub company_sharers: i64,
    /// How many companies the customer has.
    pub customer_companies: i64,
}

/// Which side a list of ids names.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// Customer ids.
    Customers,
    /// Company ids.
    Companies,
}

/// The links of these customers (or companies), oldest first (at most ~500 ids).
pub async fn links_of(db: &Db, partner_id: i64, side: Side, ids: &[i64]) -> Result<Vec<LinkEntry>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let column = match side {
        Side::Customers => "customer_id",
        Side::Companies => "company_id",
    };
    let (sql, args) = in_list(
        &format!(
            "select l.customer_id, l.company_id, l.customer_name_at_link, l.company_name_at_link, c.name as customer_name, k.name as company_name, \
             k.is_active as company_active, k.missing as company_missing, k.company_type, k.type_label, \
             (select count(*) from customer_link x where x.partner_id = l.partner_id and x.company_id = l.company_id) as company_sharers, \
             (select count(*) from customer_link y where y.partner_id = l.partner_id and y.customer_id = l.customer_id) as customer_companies \
             from customer_link l join customer c on c.customer_id = l.customer_id \
             left join autotask_company k on k.partner_id = l.partner_id and k.company_id = l.company_id \
             where l.partner_id = $1 and l.{column} in"
        ),
        partner_id,
        ids,
    );
    bind_all_as(sqlx::query_as(&format!("{sql} order by l.linked_at, l.company_id")), &args).fetch_all(&db.pool).await
}

/// Every link of the partner: (customer, company).
pub async fn all_links(tx: &mut Transaction<'static, Any>, partner_id: i64) -> Result<BTreeSet<(i64, i64)>, sqlx::Error> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("select customer_id, company_id from customer_link where partner_id = $1").bind(partner_id).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}

/// Every customer of the partner: id → name.
pub async fn all_customer_names(tx: &mut Transaction<'static, Any>, partner_id: i64) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("select customer_id, name from customer where partner_id = $1").bind(partner_id).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().collect())
}

/// The names of these discovered companies: id → name.
pub async fn company_names(tx: &mut Transaction<'static, Any>, partner_id: i64, ids: &[i64]) -> Result<HashMap<i64, String>, sqlx::Error> {
    let mut names = HashMap::new();
    for chunk in ids.chunks(500) {
        let (sql, args) = in_list("select company_id, name from autotask_company where partner_id = $1 and company_id in", partner_id, chunk);
        let rows: Vec<(i64, String)> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&mut **tx).await?;
        names.extend(rows);
    }
    Ok(names)
}

/// Removes a link, and the customer's billing contract when it was the company's.
pub async fn unlink(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    customer_id: i64,
    company_id: i64,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from customer_link where partner_id = $1 and customer_id = $2 and company_id = $3")
        .bind(partner_id)
        .bind(customer_id)
        .bind(company_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "update customer set contract_id = null, contract_company_id = null, contract_name = null, contract_flags = null, contract_set_at = $1, \
         contract_set_by = $2 where customer_id = $3 and contract_company_id = $4",
    )
    .bind(now)
    .bind(by)
    .bind(customer_id)
    .bind(company_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A billing contract chosen for a customer.
#[derive(Debug, Clone)]
pub struct ContractChoice<'a> {
    /// Autotask contract id.
    pub contract_id: i64,
    /// The company it belongs to.
    pub company_id: Option<i64>,
    /// Its name.
    pub name: &'a str,
    /// The flags confirmed with it, if any.
    pub flags: Option<&'a str>,
}

/// Sets (or, with None, clears) a customer's billing contract.
pub async fn set_contract(
    tx: &mut Transaction<'static, Any>,
    customer_id: i64,
    choice: Option<&ContractChoice<'_>>,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update customer set contract_id = $1, contract_company_id = $2, contract_name = $3, contract_flags = $4, contract_set_at = $5, \
         contract_set_by = $6 where customer_id = $7",
    )
    .bind(choice.map(|c| c.contract_id))
    .bind(choice.and_then(|c| c.company_id))
    .bind(choice.map(|c| c.name))
    .bind(choice.and_then(|c| c.flags))
    .bind(now)
    .bind(by)
    .bind(customer_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The customer's billing contract before a change: its id and name.
pub async fn contract_of(tx: &mut Transaction<'static, Any>, customer_id: i64) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row: Option<(Option<i64>, Option<String>)> =
        sqlx::query_as("select contract_id, contract_name from customer where customer_id = $1").bind(customer_id).fetch_optional(&mut **tx).await?;
    Ok(row.and_then(|(id, name)| Some((id?, name.unwrap_or_default()))))
}

/// A discovered company's name, type label and active flag.
pub async fn company_ref(db: &Db, partner_id: i64, company_id: i64) -> Result<Option<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("select name, type_label, is_active from autotask_company where partner_id = $1 and company_id = $2")
        .bind(partner_id)
        .bind(company_id)
        .fetch_optional(&db.pool)
        .await
}

/// The companies a customer is linked to; None when the partner has no such customer.
pub async fn companies_of_customer(db: &Db, partner_id: i64, customer_id: i64) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let exists: Option<i64> = sqlx::query_scalar("select customer_id from customer where partner_id = $1 and customer_id = $2")
        .bind(partner_id)
        .bind(customer_id)
        .fetch_optional(&db.pool)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let ids = sqlx::query_scalar("select company_id from customer_link where partner_id = $1 and customer_id = $2")
        .bind(partner_id)
        .bind(customer_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(Some(ids))
}

/// One line of the map's CSV: a link, or a customer without one.
#[derive(Debug, sqlx::FromRow)]
pub struct ExportLine {
    /// The customer.
    pub customer_id: i64,
    /// Its name.
    pub customer_name: String,
    /// Its data region.
    pub region: String,
    /// Its billing contract.
    pub contract_id: Option<i64>,
    /// The contract's name.
    pub contract_name: Option<String>,
    /// The contract's confirmed flags.
    pub contract_flags: Option<String>,
    /// The linked company (None: unmatched).
    pub company_id: Option<i64>,
    /// Its name.
    pub company_name: Option<String>,
    /// Its type label.
    pub type_label: Option<String>,
    /// 1 when active.
    pub is_active: Option<i64>,
    /// 1 when the latest discovery did not see it.
    pub missing: Option<i64>,
    /// Who linked it.
    pub linked_by: Option<String>,
    /// When.
    pub linked_at: Option<i64>,
    /// How many customers share the company.
    pub sharers: i64,
    /// How many companies the customer has.
    pub links: i64,
}

/// Every line of the map's CSV, by customer name.
pub async fn export_lines(db: &Db, partner_id: i64) -> Result<Vec<ExportLine>, sqlx::Error> {
    sqlx::query_as(
        "select c.customer_id, c.name as customer_name, c.region, c.contract_id, c.contract_name, c.contract_flags, \
         l.company_id, k.name as company_name, k.type_label, k.is_active, k.missing, l.linked_by, l.linked_at, \
         (select count(*) from customer_link x where x.partner_id = c.partner_id and x.company_id = l.company_id) as sharers, \
         (select count(*) from customer_link y where y.partner_id = c.partner_id and y.customer_id = c.customer_id) as links \
         from customer c left join customer_link l on l.customer_id = c.customer_id \
         left join autotask_company k on k.partner_id = c.partner_id and k.company_id = l.company_id \
         where c.partner_id = $1 order by c.name_key, c.customer_id, l.company_id",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
}
