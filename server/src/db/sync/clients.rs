//! The companies the sync follows (`synced_company`) and their contracts
//! (`synced_contract`): what the last sync wrote, read back to say what changed, and the
//! Clients page. Every query is filtered by partner.

use crate::db::dynamic::{bind_all_as, bind_all_scalar, in_list, page_bounds, Arg};
use crate::db::Db;
use app::types::sync::{ClientFilter, ClientState};
use sqlx::{Any, Transaction};
use std::collections::HashMap;

/// A followed company as the sync wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct SyncedCompany {
    pub company_id: i64,
    pub customer_id: Option<i64>,
    pub name: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country_code: String,
    pub phone: String,
    pub alternate_phone1: String,
    pub alternate_phone2: String,
    pub fax: String,
    pub email: String,
    pub web_address: String,
    pub qualifies: i64,
    /// synced, failed, skipped (see `ClientState`).
    pub sync_state: String,
    pub reason: Option<String>,
    pub changes: Option<String>,
    pub sync_trigger: String,
    pub modified_at: Option<String>,
    pub synced_at: i64,
    pub contracts: i64,
}

const COMPANY_COLUMNS: &str = "company_id, customer_id, name, address1, address2, city, state, postal_code, country_code, phone, alternate_phone1, \
     alternate_phone2, fax, email, web_address, qualifies, sync_state, reason, changes, sync_trigger, modified_at, synced_at, contracts";

/// A followed company on the Clients page, with its customer's details as they are now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientListRow {
    #[sqlx(flatten)]
    pub company: SyncedCompany,
    pub customer_name: Option<String>,
    pub customer_address1: Option<String>,
    pub customer_city: Option<String>,
    pub customer_postal_code: Option<String>,
}

/// A synced contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct SyncedContract {
    pub contract_id: i64,
    pub company_id: i64,
    pub contract_name: String,
    pub vendor_name: String,
    /// Ten-thousandths (see `Money`).
    pub overall_cost: i64,
    /// ISO code of the internal currency, or empty.
    pub currency: String,
    pub is_active: i64,
    pub sync_state: String,
    pub reason: Option<String>,
    pub changes: Option<String>,
    pub sync_trigger: String,
    pub modified_at: Option<String>,
    pub synced_at: i64,
}

const CONTRACT_COLUMNS: &str =
    "contract_id, company_id, contract_name, vendor_name, overall_cost, currency, is_active, sync_state, reason, changes, sync_trigger, modified_at, synced_at";

/// The rows of these companies (at most ~500 at a time), by id.
pub async fn companies(db: &Db, partner_id: i64, ids: &[i64]) -> Result<HashMap<i64, SyncedCompany>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (list, args) = in_list("company_id in", partner_id, ids);
    let sql = format!("select {COMPANY_COLUMNS} from synced_company where partner_id = $1 and {list}");
    let rows: Vec<SyncedCompany> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|r| (r.company_id, r)).collect())
}

/// The companies that qualify now (an active Customer when last seen).
pub async fn qualifying_ids(db: &Db, partner_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("select company_id from synced_company where partner_id = $1 and qualifies = 1 order by company_id")
        .bind(partner_id)
        .fetch_all(&db.pool)
        .await
}

/// Writes a company's row.
pub async fn save_company(tx: &mut Transaction<'static, Any>, partner_id: i64, c: &SyncedCompany) -> Result<(), sqlx::Error> {
    let params: Vec<String> = (2..=24).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = COMPANY_COLUMNS.split(", ").skip(1).map(|col| format!("{col} = excluded.{col}")).collect();
    let sql = format!(
        "insert into synced_company (partner_id, {COMPANY_COLUMNS}, name_key, changed_at) values ($1, {}, $25, $26) \
         on conflict (partner_id, company_id) do update set {}, name_key = excluded.name_key, changed_at = excluded.changed_at",
        params.join(", "),
        updates.join(", ")
    );
    let q = sqlx::query(&sql).bind(partner_id).bind(c.company_id).bind(c.customer_id);
    let q = [&c.name, &c.address1, &c.address2, &c.city, &c.state, &c.postal_code, &c.country_code, &c.phone, &c.alternate_phone1]
        .into_iter()
        .chain([&c.alternate_phone2, &c.fax, &c.email, &c.web_address])
        .fold(q, |q, v| q.bind(v.as_str()));
    q.bind(c.qualifies)
        .bind(c.sync_state.as_str())
        .bind(c.reason.as_deref())
        .bind(c.changes.as_deref())
        .bind(c.sync_trigger.as_str())
        .bind(c.modified_at.as_deref())
        .bind(c.synced_at)
        .bind(c.contracts)
        .bind(c.name.to_lowercase())
        .bind(crate::db::now_ms())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The contracts of these companies (at most ~500 at a time), by contract id.
pub async fn contracts_of(db: &Db, partner_id: i64, company_ids: &[i64]) -> Result<Vec<SyncedContract>, sqlx::Error> {
    if company_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (list, args) = in_list("company_id in", partner_id, company_ids);
    let sql =
        format!("select {CONTRACT_COLUMNS} from synced_contract where partner_id = $1 and {list} order by company_id, contract_name, contract_id");
    bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await
}

/// The rows of these contracts (at most ~500 at a time), by id.
pub async fn contracts(db: &Db, partner_id: i64, ids: &[i64]) -> Result<HashMap<i64, SyncedContract>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (list, args) = in_list("contract_id in", partner_id, ids);
    let sql = format!("select {CONTRACT_COLUMNS} from synced_contract where partner_id = $1 and {list}");
    let rows: Vec<SyncedContract> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|r| (r.contract_id, r)).collect())
}

/// Writes a contract's row.
pub async fn save_contract(tx: &mut Transaction<'static, Any>, partner_id: i64, c: &SyncedContract) -> Result<(), sqlx::Error> {
    let updates: Vec<String> = CONTRACT_COLUMNS.split(", ").skip(1).map(|col| format!("{col} = excluded.{col}")).collect();
    let sql = format!(
        "insert into synced_contract (partner_id, {CONTRACT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         on conflict (partner_id, contract_id) do update set {}",
        updates.join(", ")
    );
    sqlx::query(&sql)
        .bind(partner_id)
        .bind(c.contract_id)
        .bind(c.company_id)
        .bind(c.contract_name.as_str())
        .bind(c.vendor_name.as_str())
        .bind(c.overall_cost)
        .bind(c.currency.as_str())
        .bind(c.is_active)
        .bind(c.sync_state.as_str())
        .bind(c.reason.as_deref())
        .bind(c.changes.as_deref())
        .bind(c.sync_trigger.as_str())
        .bind(c.modified_at.as_deref())
        .bind(c.synced_at)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Recounts these companies' contracts.
pub async fn recount_contracts(tx: &mut Transaction<'static, Any>, partner_id: i64, company_ids: &[i64]) -> Result<(), sqlx::Error> {
    if company_ids.is_empty() {
        return Ok(());
    }
    let (list, args) = in_list("company_id in", partner_id, company_ids);
    let sql = format!(
        "update synced_company set contracts = (select count(*) from synced_contract k where k.partner_id = synced_company.partner_id \
         and k.company_id = synced_company.company_id), changed_at = {} where partner_id = $1 and {list}",
        crate::db::now_ms()
    );
    crate::db::dynamic::bind_all(sqlx::query(&sql), &args).execute(&mut **tx).await.map(|_| ())
}

fn filter_sql(filter: &ClientFilter, args: &mut Vec<Arg>) -> String {
    let mut sql = String::from("s.partner_id = $1");
    let q = filter.q.trim().to_lowercase();
    if !q.is_empty() {
        args.push(Arg::Text(format!("%{}%", crate::db::dynamic::like_escape(&q))));
        let n = args.len();
        sql.push_str(&format!(
            " and (s.name_key like ${n} escape '\\' or lower(s.email) like ${n} escape '\\' or s.phone like ${n} escape '\\' \
             or lower(s.web_address) like ${n} escape '\\'"
        ));
        if let Ok(id) = q.parse::<i64>() {
            args.push(Arg::Int(id));
            sql.push_str(&format!(" or s.company_id = ${}", args.len()));
        }
        sql.push(')');
    }
    match filter.state {
        Some(ClientState::NotQualifying) => sql.push_str(" and s.qualifies = 0"),
        Some(state) => {
            args.push(Arg::Text(state.as_str().into()));
            sql.push_str(&format!(" and s.qualifies = 1 and s.sync_state = ${}", args.len()));
        }
        None => {}
    }
    match filter.has_contracts {
        Some(true) => sql.push_str(" and s.contracts > 0"),
        Some(false) => sql.push_str(" and s.contracts = 0"),
        None => {}
    }
    sql
}

/// A page of followed companies by name: (rows, total, page, per page).
pub async fn page(
    db: &Db,
    partner_id: i64,
    filter: &ClientFilter,
    page: u32,
    per_page: u32,
) -> Result<(Vec<ClientListRow>, i64, u32, u32), sqlx::Error> {
    let mut args = vec![Arg::Int(partner_id)];
    let where_sql = filter_sql(filter, &mut args);
    let total: i64 =
        bind_all_scalar(sqlx::query_scalar(&format!("select count(*) from synced_company s where {where_sql}")), &args).fetch_one(&db.pool).await?;
    let (page, per_page, offset) = page_bounds(total, page, per_page, 200);
    let columns: Vec<String> = COMPANY_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect();
    let sql = format!(
        "select {}, c.name as customer_name, c.address1 as customer_address1, c.city as customer_city, c.postal_code as customer_postal_code \
         from synced_company s left join customer c on c.customer_id = s.customer_id and c.partner_id = s.partner_id \
         where {where_sql} order by s.name_key, s.company_id limit {per_page} offset {offset}",
        columns.join(", ")
    );
    let rows = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    Ok((rows, total, page, per_page))
}

/// A followed company in the machine API's change feed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedRow {
    #[sqlx(flatten)]
    pub company: SyncedCompany,
    /// The backup platform's reference of its customer, when it registered it.
    pub customer_ref: Option<String>,
    pub changed_at: i64,
}

/// The companies written after the cursor `(changed_at, company_id)` and no later than
/// `until`, oldest first.
pub async fn changed_after(db: &Db, partner_id: i64, after: (i64, i64), until: i64, limit: i64) -> Result<Vec<FeedRow>, sqlx::Error> {
    let columns: Vec<String> = COMPANY_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect();
    sqlx::query_as(&format!(
        "select {}, c.external_ref as customer_ref, s.changed_at from synced_company s \
         left join customer c on c.customer_id = s.customer_id and c.partner_id = s.partner_id \
         where s.partner_id = $1 and (s.changed_at > $2 or (s.changed_at = $2 and s.company_id > $3)) and s.changed_at <= $4 \
         order by s.changed_at, s.company_id limit $5",
        columns.join(", ")
    ))
    .bind(partner_id)
    .bind(after.0)
    .bind(after.1)
    .bind(until)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// How many companies the sync follows.
pub async fn followed(db: &Db, partner_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from synced_company where partner_id = $1").bind(partner_id).fetch_one(&db.pool).await
}
