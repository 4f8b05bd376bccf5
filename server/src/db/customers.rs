//! Customers as the machine API registers them (`POST /api/v1/customers`) and resolves
//! them (events and usage name a customer by the platform's reference or by id). Every
//! query is filtered by partner. Returns sqlx errors; the callers decide what they mean.

use super::dynamic::{bind_all_as, in_list, Arg};
use super::Db;
use sqlx::{Any, Transaction};
use std::collections::{HashMap, HashSet};

/// A customer's name.
pub async fn name(db: &Db, partner_id: i64, customer_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select name from customer where partner_id = $1 and customer_id = $2")
        .bind(partner_id)
        .bind(customer_id)
        .fetch_optional(&db.pool)
        .await
}

/// A customer found by the platform's reference.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerByRef {
    /// Taskbridge's id.
    pub customer_id: i64,
    /// Its name.
    pub name: String,
    /// Its ISO country code.
    pub country_code: String,
}

/// What the platform sends for one customer, checked.
#[derive(Debug, Clone)]
pub struct ApiCustomer<'a> {
    /// The platform's reference.
    pub reference: &'a str,
    /// Name.
    pub name: &'a str,
    /// ISO country code.
    pub country: &'a str,
    /// Data region of the country.
    pub region: &'a str,
}

/// The partner's customer with this reference, if any.
pub async fn by_ref(tx: &mut Transaction<'static, Any>, partner_id: i64, reference: &str) -> Result<Option<CustomerByRef>, sqlx::Error> {
    sqlx::query_as("select customer_id, name, country_code from customer where partner_id = $1 and external_ref = $2")
        .bind(partner_id)
        .bind(reference)
        .fetch_optional(&mut **tx)
        .await
}

/// Renames or moves a customer the platform registered.
pub async fn update_from_api(tx: &mut Transaction<'static, Any>, customer_id: i64, c: &ApiCustomer<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update customer set name = $1, name_key = $2, country_code = $3, region = $4, updated_at = $5 where customer_id = $6")
        .bind(c.name)
        .bind(c.name.to_lowercase())
        .bind(c.country)
        .bind(c.region)
        .bind(now)
        .bind(customer_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Inserts a customer the platform registered; returns its id.
pub async fn insert_from_api(tx: &mut Transaction<'static, Any>, partner_id: i64, c: &ApiCustomer<'_>, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into customer (partner_id, name, name_key, external_ref, country_code, region, source, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, 'api', $7, $7) returning customer_id",
    )
    .bind(partner_id)
    .bind(c.name)
    .bind(c.name.to_lowercase())
    .bind(c.reference)
    .bind(c.country)
    .bind(c.region)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// How many customers the partner has.
pub async fn count(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from customer where partner_id = $1").bind(partner_id).fetch_one(&db.pool).await
}

/// The partner's customers among these references and ids: reference → id, and the ids
/// that exist (another partner's customers are absent from both). 500 per query.
pub async fn resolve(db: &Db, partner_id: i64, refs: &[String], ids: &[i64]) -> Result<(HashMap<String, i64>, HashSet<i64>), sqlx::Error> {
    let mut by_ref = HashMap::new();
    for chunk in refs.chunks(500) {
        let mut args = vec![Arg::Int(partner_id)];
        args.extend(chunk.iter().map(|r| Arg::Text(r.clone())));
        let params: Vec<String> = (2..=args.len()).map(|i| format!("${i}")).collect();
        let sql = format!("select customer_id, external_ref from customer where partner_id = $1 and external_ref in ({})", params.join(", "));
        let rows: Vec<(i64, String)> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
        by_ref.extend(rows.into_iter().map(|(id, reference)| (reference, id)));
    }
    let mut found = HashSet::new();
    for chunk in ids.chunks(500) {
        let (sql, args) = in_list("select customer_id from customer where partner_id = $1 and customer_id in", partner_id, chunk);
        let rows: Vec<(i64,)> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
        found.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok((by_ref, found))
}

/// A customer's details as an import or the Customer Map's "Create customer" writes them
/// (what a company becomes under the import rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerDraft {
    /// Name.
    pub name: String,
    /// Address line 1.
    pub address1: String,
    /// Address line 2.
    pub address2: String,
    /// City.
    pub city: String,
    /// ISO 3166-2 subdivision code, or empty.
    pub state: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO country code.
    pub country_code: String,
    /// Data region of the country.
    pub region: String,
    /// The customer admin's first name (the primary contact's).
    pub admin_first: String,
    /// Last name.
    pub admin_last: String,
    /// Email.
    pub admin_email: String,
}

/// Binds a draft's fields in table order: name, address1, address2, city, state,
/// postal code, country, region, admin first, last, email.
fn bind_draft<'q>(q: super::dynamic::AnyQuery<'q>, d: &'q CustomerDraft) -> super::dynamic::AnyQuery<'q> {
    [&d.name, &d.address1, &d.address2, &d.city, &d.state, &d.postal_code, &d.country_code, &d.region, &d.admin_first, &d.admin_last, &d.admin_email]
        .into_iter()
        .fold(q, |q, v| q.bind(v.as_str()))
}

/// Inserts a customer from a draft (`source`: autotask_import or customer_map); returns its id.
pub async fn insert_draft(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    d: &CustomerDraft,
    source: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let q = sqlx::query(
        "insert into customer (partner_id, name, address1, address2, city, state, postal_code, country_code, region, admin_first, admin_last, admin_email, \
         source, created_at, updated_at, name_key) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) returning customer_id",
    )
    .bind(partner_id);
    let row = bind_draft(q, d).bind(source).bind(now).bind(d.name.to_lowercase()).fetch_one(&mut **tx).await?;
    sqlx::Row::try_get(&row, 0)
}

/// Overwrites a customer's details with a draft.
pub async fn update_draft(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    customer_id: i64,
    d: &CustomerDraft,
    now: i64,
) -> Result<(), sqlx::Error> {
    let q = sqlx::query(
        "update customer set name = $1, address1 = $2, address2 = $3, city = $4, state = $5, postal_code = $6, country_code = $7, region = $8, \
         admin_first = $9, admin_last = $10, admin_email = $11, updated_at = $12, name_key = $15 where customer_id = $13 and partner_id = $14",
    );
    bind_draft(q, d).bind(now).bind(customer_id).bind(partner_id).bind(d.name.to_lowercase()).execute(&mut **tx).await.map(|_| ())
}

/// Customers of the partner named `name` (case-insensitively) that no company is linked
/// to yet: the ones a new link should take rather than create a duplicate.
pub async fn unlinked_named(tx: &mut Transaction<'static, Any>, partner_id: i64, name: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select customer_id from customer c where partner_id = $1 and name_key = $2 \
         and not exists (select 1 from customer_link l where l.customer_id = c.customer_id) order by customer_id",
    )
    .bind(partner_id)
    .bind(name.trim().to_lowercase())
    .fetch_all(&mut **tx)
    .await
}

/// Every customer of the partner no company is linked to yet: (id, name key), for a
/// preview that asks [`unlinked_named`]'s question of many names at once.
pub async fn unlinked(db: &Db, partner_id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "select customer_id, name_key from customer c where partner_id = $1 \
         and not exists (select 1 from customer_link l where l.customer_id = c.customer_id) order by customer_id",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
}

/// Overwrites what the customer sync owns (name, address, country, region), leaving the
/// customer admin and everything else as they are.
pub async fn update_synced(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    customer_id: i64,
    d: &CustomerDraft,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update customer set name = $1, address1 = $2, address2 = $3, city = $4, state = $5, postal_code = $6, country_code = $7, region = $8, \
         updated_at = $9, name_key = $10 where customer_id = $11 and partner_id = $12",
    )
    .bind(d.name.as_str())
    .bind(d.address1.as_str())
    .bind(d.address2.as_str())
    .bind(d.city.as_str())
    .bind(d.state.as_str())
    .bind(d.postal_code.as_str())
    .bind(d.country_code.as_str())
    .bind(d.region.as_str())
    .bind(now)
    .bind(d.name.to_lowercase())
    .bind(customer_id)
    .bind(partner_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
