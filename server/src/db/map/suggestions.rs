//! The map's name suggestions: stored by the matching pass, read beside each page's rows,
//! and every exact one of a search for "Select exact matches".

use super::{customer_where, Side};
use crate::db::dynamic::{bind_all, bind_all_as, in_list};
use crate::db::Db;
use app::types::map::{ExactMatch, MapQuery, EXACT_SCORE};

/// The exact-name (★★★) suggestions of every unmatched customer matching the search and
/// filter, on any page, by customer name: at most `limit`, and how many there are.
pub async fn exact_suggestions(db: &Db, partner_id: i64, query: &MapQuery, limit: usize) -> Result<(Vec<ExactMatch>, i64), sqlx::Error> {
    let (where_sql, args) = customer_where(partner_id, query);
    let from = "customer c join match_suggestion s on s.partner_id = c.partner_id and s.customer_id = c.customer_id \
                join autotask_company k on k.partner_id = s.partner_id and k.company_id = s.company_id";
    let condition = format!("{where_sql} and c.matched = 0 and s.score >= {EXACT_SCORE}");
    let total: i64 = bind_all(sqlx::query(&format!("select count(*) from {from} where {condition}")), &args)
        .fetch_one(&db.pool)
        .await
        .and_then(|r| sqlx::Row::try_get(&r, 0))?;
    let sql = format!(
        "select c.customer_id, c.name, s.company_id, k.name from {from} where {condition} \
         order by c.name_key, c.customer_id limit {limit}"
    );
    let rows: Vec<(i64, String, i64, String)> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    let matches = rows.into_iter().map(|(customer_id, customer_name, company_id, company_name)| ExactMatch {
        customer_id,
        customer_name,
        company_id,
        company_name,
    });
    Ok((matches.collect(), total))
}

/// A stored name suggestion, with the other side's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SuggestionEntry {
    /// The customer.
    pub customer_id: i64,
    /// The company.
    pub company_id: i64,
    /// 0..=100.
    pub score: i64,
    /// Why.
    pub reason: String,
    /// The suggested side's name.
    pub name: String,
}

/// Suggestions for these customers (the company's name), or for these companies (the
/// customer's name, best first).
pub async fn suggestions_for(db: &Db, partner_id: i64, side: Side, ids: &[i64]) -> Result<Vec<SuggestionEntry>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let prefix = match side {
        Side::Customers => {
            "select s.customer_id, s.company_id, s.score, s.reason, k.name from match_suggestion s \
             join autotask_company k on k.partner_id = s.partner_id and k.company_id = s.company_id where s.partner_id = $1 and s.customer_id in"
        }
        Side::Companies => {
            "select s.customer_id, s.company_id, s.score, s.reason, c.name from match_suggestion s \
             join customer c on c.customer_id = s.customer_id where s.partner_id = $1 and s.company_id in"
        }
    };
    // A customer has at most one suggestion; a company may have several, best first.
    let order = match side {
        Side::Customers => "",
        Side::Companies => " order by s.score desc, s.customer_id",
    };
    let (sql, args) = in_list(prefix, partner_id, ids);
    bind_all_as(sqlx::query_as(&format!("{sql}{order}")), &args).fetch_all(&db.pool).await
}

/// Customers without a link, and discovered companies still in Autotask without one:
/// (id, name) each, for the matching pass.
pub async fn unmatched(db: &Db, partner_id: i64) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), sqlx::Error> {
    let customers = sqlx::query_as(
        "select customer_id, name from customer c where partner_id = $1 and not exists (select 1 from customer_link l where l.customer_id = c.customer_id)",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    let companies = sqlx::query_as(
        "select company_id, name from autotask_company k where partner_id = $1 and missing = 0 \
         and not exists (select 1 from customer_link l where l.partner_id = k.partner_id and l.company_id = k.company_id)",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    Ok((customers, companies))
}

/// A suggestion to store: (customer, company, score, reason).
pub type NewSuggestion<'a> = (i64, i64, i64, &'a str);

/// Replaces the partner's suggestions and brings the states the filters read up to date
/// (only rows whose state changes are written), in one transaction.
pub async fn replace_suggestions(db: &Db, partner_id: i64, found: &[NewSuggestion<'_>]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("delete from match_suggestion where partner_id = $1").bind(partner_id).execute(&mut *tx).await?;
    for chunk in found.chunks(200) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${}, ${}, ${}, ${})", i * 4 + 2, i * 4 + 3, i * 4 + 4, i * 4 + 5)).collect();
        let sql = format!("insert into match_suggestion (partner_id, customer_id, company_id, score, reason) values {}", values.join(", "));
        let mut q = sqlx::query(&sql).bind(partner_id);
        for (customer_id, company_id, score, reason) in chunk {
            q = q.bind(*customer_id).bind(*company_id).bind(*score).bind(*reason);
        }
        q.execute(&mut *tx).await?;
    }
    sqlx::query(
        "update customer set matched = 1 - matched where partner_id = $1 and matched <> \
         (case when exists (select 1 from customer_link l where l.customer_id = customer.customer_id) then 1 else 0 end)",
    )
    .bind(partner_id)
    .execute(&mut *tx)
    .await?;
    let state = "(case when exists (select 1 from customer_link l where l.partner_id = autotask_company.partner_id and l.company_id = autotask_company.company_id) then 2 \
         when exists (select 1 from match_suggestion s where s.partner_id = autotask_company.partner_id and s.company_id = autotask_company.company_id) then 1 else 0 end)";
    sqlx::query(&format!("update autotask_company set match_state = {state} where partner_id = $1 and match_state <> {state}"))
        .bind(partner_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
