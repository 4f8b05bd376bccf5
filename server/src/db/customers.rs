//! Customers as the machine API registers them (`POST /api/v1/customers`) and resolves
//! them (events and usage name a customer by the platform's reference or by id). Every
//! query is filtered by partner. Returns sqlx errors; the callers decide what they mean.

use super::dynamic::{bind_all_as, in_list, Arg};
use super::Db;
use sqlx::{Any, Transaction};
use std::collections::{HashMap, HashSet};

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
