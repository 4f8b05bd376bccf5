//! Links between Taskbridge customers and Autotask companies (`customer_link`): the
//! Customer Map's edges, also made by import. Every query is filtered by partner.

use sqlx::{Any, Transaction};

/// A customer linked to a company, and where the customer came from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkedCustomer {
    /// The customer.
    pub customer_id: i64,
    /// autotask_import, customer_map, api or manual.
    pub source: String,
}

/// The customers linked to a company.
pub async fn customers_of_company(tx: &mut Transaction<'static, Any>, partner_id: i64, company_id: i64) -> Result<Vec<LinkedCustomer>, sqlx::Error> {
    sqlx::query_as(
        "select l.customer_id, c.source from customer_link l join customer c on c.customer_id = l.customer_id where l.partner_id = $1 and l.company_id = $2",
    )
    .bind(partner_id)
    .bind(company_id)
    .fetch_all(&mut **tx)
    .await
}

/// The customers linked to each of these companies (at most ~500 at a time):
/// (company, customer, customer name), by customer name.
pub async fn customers_of_companies(db: &super::Db, partner_id: i64, company_ids: &[i64]) -> Result<Vec<(i64, i64, String)>, sqlx::Error> {
    if company_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (list, args) = super::dynamic::in_list("l.company_id in", partner_id, company_ids);
    let sql = format!(
        "select l.company_id, l.customer_id, c.name from customer_link l join customer c on c.customer_id = l.customer_id \
         where l.partner_id = $1 and {list} order by c.name_key, c.customer_id"
    );
    super::dynamic::bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await
}

/// Links a customer to a company, remembering both names as they are now.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut Transaction<'static, Any>,
    partner_id: i64,
    customer_id: i64,
    company_id: i64,
    customer_name: &str,
    company_name: &str,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(partner_id)
    .bind(customer_id)
    .bind(company_id)
    .bind(customer_name)
    .bind(company_name)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Remembers `name` as both sides' name at link time (an import refreshed them).
pub async fn refresh_names(tx: &mut Transaction<'static, Any>, customer_id: i64, company_id: i64, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update customer_link set customer_name_at_link = $1, company_name_at_link = $1 where customer_id = $2 and company_id = $3")
        .bind(name)
        .bind(customer_id)
        .bind(company_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
