//! The Customer Map: Taskbridge customers beside Autotask companies by Autotask ID (names
//! at link time are kept, so a rename on either side is flagged, never breaking a link),
//! name suggestions from the matching pass, staged changes saved all-or-nothing under the
//! 1-to-many rules, and the billing contract per customer with its flags.

pub mod matching;

use crate::autotask::entities::{Company, Contract};
use crate::autotask::{AutotaskError, Query};
use crate::db::connection::SqlAutotaskSettings;
use crate::db::dynamic::{bind_all, in_list, page_bounds, search_sql, Arg};
use crate::db::{audit, now_ms, Db};
use crate::error::{internal, SqlxResultExt};
use crate::exports::{Cell, CsvBuilder};
use crate::services::companies::rules::check;
use app::error::AppError;
use app::services::CustomerMapService;
use app::types::map::{
    ChosenContract, CompanyFilter, CompanyMapPage, CompanyRow, ContractOption, CustomerFilter, CustomerMapPage, CustomerRow, Flag, LinkedCompany,
    LinkedCustomer, MapChange, MapCounts, MapHistoryEntry, MapQuery, MapSaved, Suggestion,
};
use app::types::CurrentUser;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Autotask's system value for company type Customer.
pub const COMPANY_TYPE_CUSTOMER: i64 = 1;
/// Autotask's system value for contract type Recurring Service.
pub const CONTRACT_TYPE_RECURRING: i64 = 7;
/// Largest Save.
pub const MAX_CHANGES: usize = 2_000;
const MAX_PAGE: u32 = 200;

fn flag(code: &str, message: impl Into<String>) -> Flag {
    Flag { code: code.into(), message: message.into() }
}

/// `CustomerMapService` over the database and the partner's Autotask.
#[derive(Clone)]
pub struct SqlCustomerMap {
    db: Db,
    settings: SqlAutotaskSettings,
}

/// Flags of a linked pair, from the link row joined with the company (columns named as in
/// the queries below).
fn link_flags(r: &AnyRow) -> Result<Vec<Flag>, sqlx::Error> {
    let mut flags = Vec::new();
    let company_now: Option<String> = r.try_get("company_name")?;
    let company_then: String = r.try_get("company_name_at_link")?;
    let customer_now: String = r.try_get("customer_name")?;
    let customer_then: String = r.try_get("customer_name_at_link")?;
    let missing = company_now.is_none() || r.try_get::<Option<i64>, _>("company_missing")?.unwrap_or(0) != 0;
    if customer_now != customer_then {
        flags.push(flag(
            "renamed",
            format!("Customer renamed in Taskbridge since it was linked (was \u{201c}{customer_then}\u{201d}); the link holds by ID."),
        ));
    }
    if let Some(now) = &company_now {
        if *now != company_then {
            flags.push(flag(
                "renamed",
                format!("Company renamed in Autotask since it was linked (was \u{201c}{company_then}\u{201d}); the link holds by ID."),
            ));
        }
    }
    if missing {
        flags.push(flag("missing", "This company is no longer in Autotask (not seen by the latest discovery)."));
    } else {
        if r.try_get::<Option<i64>, _>("company_active")?.unwrap_or(1) == 0 {
            flags.push(flag("inactive", "The company is inactive in Autotask."));
        }
        let company_type: Option<i64> = r.try_get("company_type")?;
        if company_type != Some(COMPANY_TYPE_CUSTOMER) {
            let label: Option<String> = r.try_get("type_label")?;
            flags.push(flag(
                "not_customer",
                format!(
                    "Autotask type is {}, not Customer: billing and tickets may not behave as expected.",
                    label.unwrap_or_else(|| "not set".into())
                ),
            ));
        }
    }
    Ok(flags)
}

/// A suggestion row (`score`, `reason`, `name`, and the other side's id in `id_column`).
fn suggestion_from_row(r: &AnyRow, id_column: &str) -> Result<Suggestion, sqlx::Error> {
    Ok(Suggestion {
        id: r.try_get(id_column)?,
        name: r.try_get("name")?,
        score: r.try_get::<i64, _>("score")?.clamp(0, 100) as u8,
        reason: r.try_get("reason")?,
    })
}

const LINK_COLUMNS: &str =
    "l.customer_id, l.company_id, l.customer_name_at_link, l.company_name_at_link, c.name as customer_name, k.name as company_name, \
     k.is_active as company_active, k.missing as company_missing, k.company_type, k.type_label";

/// A contract's reasons not to bill through it (empty: fit).
pub fn contract_flags(contract: &Contract, type_label: &str, services: i64, bundles: i64, today: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    if contract.contract_type != Some(CONTRACT_TYPE_RECURRING) {
        flags.push(flag("not_recurring", format!("Not a Recurring Service contract (it is {type_label}).")));
    }
    if contract.status != Some(1) {
        flags.push(flag("inactive", "Inactive in Autotask."));
    }
    if let Some(end) = contract.end_date.as_deref().map(|d| d.get(..10).unwrap_or(d)) {
        if end < today {
            flags.push(flag("expired", format!("Expired on {end}.")));
        }
    }
    if services == 0 && bundles > 0 {
        flags.push(flag("bundle_only", "Its services sit only inside a service bundle; billing needs services attached directly."));
    } else if services == 0 {
        flags.push(flag("no_services", "No services are attached to it yet."));
    }
    flags
}

fn today() -> String {
    app::format::iso_utc(now_ms())[..10].to_string()
}

fn autotask_problem(e: AutotaskError) -> AppError {
    AppError::Conflict(e.to_string())
}

impl SqlCustomerMap {
    /// The map on this database, reading contracts through the partner's connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings) -> Self {
        Self { db, settings }
    }

    async fn counts(&self, partner_id: i64) -> Result<MapCounts, AppError> {
        // One round trip for all six figures.
        let r = sqlx::query(
            "select (select count(*) from customer where partner_id = $1) as customers, \
             (select count(*) from customer where partner_id = $1 and matched = 1) as customers_matched, \
             (select count(*) from autotask_company where partner_id = $1) as companies, \
             (select count(*) from autotask_company where partner_id = $1 and match_state = 2) as companies_matched, \
             (select count(*) from match_suggestion where partner_id = $1) as suggested, \
             (select count(*) from match_suggestion where partner_id = $1 and score >= 100) as exact",
        )
        .bind(partner_id)
        .fetch_one(&self.db.pool)
        .await
        .internal()?;
        let get = |c: &str| r.try_get::<i64, _>(c).internal();
        Ok(MapCounts {
            customers: get("customers")?,
            customers_matched: get("customers_matched")?,
            companies: get("companies")?,
            companies_matched: get("companies_matched")?,
            suggested: get("suggested")?,
            exact: get("exact")?,
        })
    }

    /// Counts the rows of `from` matching `where_sql`, then reads the requested page.
    async fn paged(
        &self,
        columns: &str,
        from: &str,
        where_sql: &str,
        order: &str,
        args: &[Arg],
        query: &MapQuery,
    ) -> Result<(i64, u32, u32, Vec<AnyRow>), AppError> {
        let total: i64 = bind_all(sqlx::query(&format!("select count(*) as n from {from} where {where_sql}")), args)
            .fetch_one(&self.db.pool)
            .await
            .internal()?
            .try_get("n")
            .internal()?;
        let (page, per_page, offset) = page_bounds(total, query.page, query.per_page, MAX_PAGE);
        // The page's ids come from the (covering) index alone; only those rows are read.
        let id = order.rsplit(", ").next().unwrap_or(order);
        // The outer filter repeats the whole condition (the partner first): ids are only
        // unique within a partner.
        let sql = format!(
            "select {columns} from {from} where {where_sql} and {id} in (select {id} from {from} where {where_sql} order by {order} limit {per_page} offset {offset}) order by {order}"
        );
        let rows = bind_all(sqlx::query(&sql), args).fetch_all(&self.db.pool).await.internal()?;
        Ok((total, page, per_page, rows))
    }

    /// Links of these customers (or companies), with the flags of each.
    async fn links(&self, partner_id: i64, column: &str, ids: &[i64]) -> Result<Vec<AnyRow>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, args) = in_list(
            &format!(
                "select {LINK_COLUMNS}, \
                 (select count(*) from customer_link x where x.partner_id = l.partner_id and x.company_id = l.company_id) as company_sharers, \
                 (select count(*) from customer_link y where y.partner_id = l.partner_id and y.customer_id = l.customer_id) as customer_companies \
                 from customer_link l join customer c on c.customer_id = l.customer_id \
                 left join autotask_company k on k.partner_id = l.partner_id and k.company_id = l.company_id \
                 where l.partner_id = $1 and l.{column} in"
            ),
            partner_id,
            ids,
        );
        bind_all(sqlx::query(&format!("{sql} order by l.linked_at, l.company_id")), &args).fetch_all(&self.db.pool).await.internal()
    }

    /// Re-runs the matching pass for the partner: the best suggestion for every unmatched
    /// customer among unmatched companies still in Autotask. Returns how many it found.
    pub async fn rematch(&self, partner_id: i64) -> Result<usize, AppError> {
        rematch(&self.db, partner_id).await
    }

    /// Companies referenced by changes but not discovered yet: fetched from Autotask (an
    /// Autotask ID typed by hand) and stored, or refused when Autotask has no such company.
    async fn ensure_companies(&self, partner_id: i64, ids: &BTreeSet<i64>) -> Result<(), AppError> {
        let ids: Vec<i64> = ids.iter().copied().collect();
        let known = crate::services::companies::discovered_ids(&self.db, partner_id, &ids).await.internal()?;
        let unknown: Vec<i64> = ids.into_iter().filter(|id| !known.contains(id)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let client = self.settings.client(partner_id).await.map_err(|p| AppError::Conflict(p.message))?;
        for id in unknown {
            let Some(company) = client.get::<Company>(id).await.map_err(autotask_problem)? else {
                return Err(AppError::invalid("changes", format!("Autotask has no company with ID {id}. Check the number in Autotask.")));
            };
            let name = company.company_name.clone().unwrap_or_default();
            sqlx::query(
                "insert into autotask_company (partner_id, company_id, name, name_key, company_type, type_label, is_active, address1, city, state, postal_code, country_id, seen_at, missing) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0) on conflict (partner_id, company_id) do nothing",
            )
            .bind(partner_id)
            .bind(id)
            .bind(name.clone())
            .bind(name.to_lowercase())
            .bind(company.company_type)
            .bind(if company.company_type == Some(COMPANY_TYPE_CUSTOMER) { "Customer".to_string() } else { company.company_type.map(|t| format!("Type {t}")).unwrap_or_else(|| "\u{2014}".into()) })
            .bind(i64::from(company.is_active.unwrap_or(true)))
            .bind(company.address1.clone())
            .bind(company.city.clone())
            .bind(company.state.clone())
            .bind(company.postal_code.clone())
            .bind(company.country_id)
            .bind(now_ms())
            .execute(&self.db.pool)
            .await
            .internal()?;
        }
        Ok(())
    }

    /// Fetches the contracts a save chooses, with their flags, before the save's transaction
    /// opens (no database lock is held while Autotask answers). Whether each belongs to a
    /// company its customer ends up linked to is checked inside the transaction.
    async fn chosen_contracts(&self, partner_id: i64, ids: &BTreeSet<i64>) -> Result<HashMap<i64, (Contract, Vec<Flag>)>, AppError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let client = self.settings.client(partner_id).await.map_err(|p| AppError::Conflict(p.message))?;
        let fetched = futures_util::future::join_all(ids.iter().map(|id| client.get::<Contract>(*id))).await;
        let mut contracts = Vec::with_capacity(ids.len());
        for (id, contract) in ids.iter().zip(fetched) {
            let Some(contract) = contract.map_err(autotask_problem)? else {
                return Err(AppError::invalid("changes", format!("Autotask has no contract with ID {id}.")));
            };
            contracts.push(contract);
        }
        let options = self.contract_options(&client, &contracts).await?;
        let mut flags: HashMap<i64, Vec<Flag>> = options.into_iter().map(|o| (o.contract_id, o.flags)).collect();
        Ok(contracts
            .into_iter()
            .map(|c| {
                let f = flags.remove(&c.id).unwrap_or_default();
                (c.id, (c, f))
            })
            .collect())
    }

    async fn contract_options(&self, client: &crate::autotask::AutotaskClient, contracts: &[Contract]) -> Result<Vec<ContractOption>, AppError> {
        let ids: Vec<i64> = contracts.iter().map(|c| c.id).collect();
        let mut services: HashMap<i64, i64> = HashMap::new();
        let mut bundles: HashMap<i64, i64> = HashMap::new();
        for filter in crate::autotask::query::in_batches("contractID", &ids) {
            let query = Query::new([filter]).include(&["id", "contractID"]);
            let (s, b) = tokio::join!(client.query_all_raw("ContractServices", &query), client.query_all_raw("ContractServiceBundles", &query));
            for row in s.map_err(autotask_problem)? {
                *services.entry(row["contractID"].as_i64().unwrap_or_default()).or_default() += 1;
            }
            for row in b.map_err(autotask_problem)? {
                *bundles.entry(row["contractID"].as_i64().unwrap_or_default()).or_default() += 1;
            }
        }
        let types: HashMap<i64, String> = client
            .picklist("Contracts", "contractType")
            .await
            .map_err(autotask_problem)?
            .into_iter()
            .filter_map(|v| Some((v.value.parse().ok()?, v.label)))
            .collect();
        let today = today();
        Ok(contracts
            .iter()
            .map(|c| {
                let type_label = c.contract_type.and_then(|t| types.get(&t).cloned()).unwrap_or_else(|| "unknown type".into());
                let (s, b) = (services.get(&c.id).copied().unwrap_or(0), bundles.get(&c.id).copied().unwrap_or(0));
                ContractOption {
                    contract_id: c.id,
                    company_id: c.company_id.unwrap_or_default(),
                    name: c.contract_name.clone().unwrap_or_default(),
                    number: c.contract_number.clone().unwrap_or_default(),
                    flags: contract_flags(c, &type_label, s, b, &today),
                    type_label,
                    start: c.start_date.as_deref().map(|d| d.chars().take(10).collect()).unwrap_or_default(),
                    end: c.end_date.as_deref().map(|d| d.chars().take(10).collect()).unwrap_or_default(),
                    services: s,
                    bundles: b,
                }
            })
            .collect())
    }
}

/// The whole map as CSV (one line per link, and one per unmatched customer).
pub async fn csv(db: &Db, partner_id: i64) -> Result<String, AppError> {
    let rows = sqlx::query(
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
    .internal()?;
    let mut out = CsvBuilder::new(&[
        "customer_id",
        "customer_name",
        "region",
        "autotask_company_id",
        "autotask_company_name",
        "company_type",
        "company_active",
        "mapping",
        "billing_contract_id",
        "billing_contract_name",
        "contract_flags",
        "linked_by",
        "linked_at",
    ])
    .map_err(internal)?;
    for r in &rows {
        let company_id: Option<i64> = r.try_get("company_id").internal()?;
        let sharers: i64 = r.try_get("sharers").internal()?;
        let links: i64 = r.try_get("links").internal()?;
        let mapping = match (company_id, links, sharers) {
            (None, _, _) => "unmatched",
            (Some(_), 1, 1) => "1-to-1",
            _ => "1-to-many",
        };
        let active = match (company_id, r.try_get::<Option<i64>, _>("missing").internal()?, r.try_get::<Option<i64>, _>("is_active").internal()?) {
            (None, _, _) => "",
            (Some(_), Some(1) | None, _) => "missing",
            (Some(_), _, Some(0)) => "no",
            _ => "yes",
        };
        out.row([
            Cell::number(Some(r.try_get::<i64, _>("customer_id").internal()?)),
            Cell::text(r.try_get::<String, _>("customer_name").internal()?),
            Cell::text(r.try_get::<String, _>("region").internal()?),
            Cell::number(company_id),
            Cell::text(r.try_get::<Option<String>, _>("company_name").internal()?.unwrap_or_default()),
            Cell::text(r.try_get::<Option<String>, _>("type_label").internal()?.unwrap_or_default()),
            Cell::text(active),
            Cell::text(mapping),
            Cell::number(r.try_get::<Option<i64>, _>("contract_id").internal()?),
            Cell::text(r.try_get::<Option<String>, _>("contract_name").internal()?.unwrap_or_default()),
            Cell::text(r.try_get::<Option<String>, _>("contract_flags").internal()?.unwrap_or_default()),
            Cell::text(r.try_get::<Option<String>, _>("linked_by").internal()?.unwrap_or_default()),
            Cell::text(r.try_get::<Option<i64>, _>("linked_at").internal()?.map(app::format::iso_utc).unwrap_or_default()),
        ])
        .map_err(internal)?;
    }
    out.finish().map_err(internal)
}

/// The CSV download of the map, for the signed-in user's partner.
pub async fn export(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: Option<axum::Extension<CurrentUser>>,
) -> axum::response::Response {
    let Some(axum::Extension(user)) = user else {
        return crate::exports::sign_in_first("the Customer Map");
    };
    crate::exports::download("customer-map", csv(&state.db, user.partner_id).await.map_err(|_| anyhow::anyhow!("the Customer Map export failed")))
}

/// The matching pass (see [`SqlCustomerMap::rematch`]).
pub async fn rematch(db: &Db, partner_id: i64) -> Result<usize, AppError> {
    let customers: Vec<(i64, String)> = sqlx::query(
        "select customer_id, name from customer c where partner_id = $1 and not exists (select 1 from customer_link l where l.customer_id = c.customer_id)",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
    .internal()?
    .iter()
    .map(|r| Ok((r.try_get("customer_id")?, r.try_get("name")?)))
    .collect::<Result<_, sqlx::Error>>()
    .internal()?;
    let companies: Vec<(i64, String)> = sqlx::query(
        "select company_id, name from autotask_company k where partner_id = $1 and missing = 0 \
         and not exists (select 1 from customer_link l where l.partner_id = k.partner_id and l.company_id = k.company_id)",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
    .internal()?
    .iter()
    .map(|r| Ok((r.try_get("company_id")?, r.try_get("name")?)))
    .collect::<Result<_, sqlx::Error>>()
    .internal()?;
    let found = matching::suggest(&customers, &companies);
    let mut tx = db.begin().await.internal()?;
    sqlx::query("delete from match_suggestion where partner_id = $1").bind(partner_id).execute(&mut *tx).await.internal()?;
    for chunk in found.chunks(200) {
        let mut sql = String::from("insert into match_suggestion (partner_id, customer_id, company_id, score, reason) values ");
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${}, ${}, ${}, ${})", i * 4 + 2, i * 4 + 3, i * 4 + 4, i * 4 + 5)).collect();
        sql.push_str(&values.join(", "));
        let mut q = sqlx::query(&sql).bind(partner_id);
        for s in chunk {
            q = q.bind(s.customer_id).bind(s.company_id).bind(i64::from(s.score)).bind(s.reason.clone());
        }
        q.execute(&mut *tx).await.internal()?;
    }
    // The states the map's filters read (only rows whose state changes are written).
    sqlx::query(
        "update customer set matched = 1 - matched where partner_id = $1 and matched <> \
         (case when exists (select 1 from customer_link l where l.customer_id = customer.customer_id) then 1 else 0 end)",
    )
    .bind(partner_id)
    .execute(&mut *tx)
    .await
    .internal()?;
    sqlx::query(
        "update autotask_company set match_state = (case when exists (select 1 from customer_link l where l.partner_id = autotask_company.partner_id and l.company_id = autotask_company.company_id) then 2 \
         when exists (select 1 from match_suggestion s where s.partner_id = autotask_company.partner_id and s.company_id = autotask_company.company_id) then 1 else 0 end) \
         where partner_id = $1 and match_state <> (case when exists (select 1 from customer_link l where l.partner_id = autotask_company.partner_id and l.company_id = autotask_company.company_id) then 2 \
         when exists (select 1 from match_suggestion s where s.partner_id = autotask_company.partner_id and s.company_id = autotask_company.company_id) then 1 else 0 end)",
    )
    .bind(partner_id)
    .execute(&mut *tx)
    .await
    .internal()?;
    tx.commit().await.internal()?;
    Ok(found.len())
}

/// Checks that every linked group is 1-to-1 or 1-to-many: no link may join a customer
/// with several companies to a company with several customers.
fn check_groups(edges: &BTreeSet<(i64, i64)>, names: &HashMap<i64, String>, company_names: &HashMap<i64, String>) -> Result<(), AppError> {
    let mut customer_degree: HashMap<i64, usize> = HashMap::new();
    let mut company_degree: HashMap<i64, usize> = HashMap::new();
    for (c, k) in edges {
        *customer_degree.entry(*c).or_default() += 1;
        *company_degree.entry(*k).or_default() += 1;
    }
    for (c, k) in edges {
        if customer_degree[c] > 1 && company_degree[k] > 1 {
            let customer = names.get(c).cloned().unwrap_or_else(|| format!("#{c}"));
            let company = company_names.get(k).cloned().unwrap_or_else(|| format!("#{k}"));
            return Err(AppError::invalid(
                "changes",
                format!(
                    "\u{201c}{customer}\u{201d} would be linked to {} companies while Autotask company \u{201c}{company}\u{201d} ({k}) is linked to {} customers. \
                     A company already part of a 1-to-many match cannot be linked elsewhere: keep each group 1-to-1 or 1-to-many.",
                    customer_degree[c], company_degree[k]
                ),
            ));
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl CustomerMapService for SqlCustomerMap {
    async fn customers(&self, partner_id: i64, query: MapQuery) -> Result<CustomerMapPage, AppError> {
        let mut args = vec![Arg::Int(partner_id)];
        let mut where_sql = "c.partner_id = $1".to_string();
        where_sql.push_str(&search_sql(&query.search, "c.name_key", "c.customer_id", &mut args));
        match query.customers {
            CustomerFilter::All => {}
            CustomerFilter::Matched => where_sql.push_str(" and c.matched = 1"),
            CustomerFilter::Unmatched => where_sql.push_str(" and c.matched = 0"),
        }
        let (total, page, per_page, rows) = self
            .paged(
                "c.customer_id, c.name, c.region, c.contract_id, c.contract_name, c.contract_flags",
                "customer c",
                &where_sql,
                "c.name_key, c.customer_id",
                &args,
                &query,
            )
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("customer_id")).collect::<Result<_, _>>().internal()?;
        let mut links: HashMap<i64, Vec<LinkedCompany>> = HashMap::new();
        for r in self.links(partner_id, "customer_id", &ids).await? {
            let company_id: i64 = r.try_get("company_id").internal()?;
            let name = r.try_get::<Option<String>, _>("company_name").internal()?.unwrap_or(r.try_get("company_name_at_link").internal()?);
            links.entry(r.try_get("customer_id").internal()?).or_default().push(LinkedCompany {
                company_id,
                name,
                flags: link_flags(&r).internal()?,
                customers: r.try_get("company_sharers").internal()?,
            });
        }
        let mut suggestions: HashMap<i64, Suggestion> = HashMap::new();
        if !ids.is_empty() {
            let (sql, sargs) = in_list(
                "select s.customer_id, s.company_id, s.score, s.reason, k.name from match_suggestion s join autotask_company k on k.partner_id = s.partner_id and k.company_id = s.company_id where s.partner_id = $1 and s.customer_id in",
                partner_id,
                &ids,
            );
            for r in bind_all(sqlx::query(&sql), &sargs).fetch_all(&self.db.pool).await.internal()? {
                suggestions.insert(r.try_get("customer_id").internal()?, suggestion_from_row(&r, "company_id").internal()?);
            }
        }
        let rows = rows
            .iter()
            .map(|r| -> Result<CustomerRow, sqlx::Error> {
                let customer_id: i64 = r.try_get("customer_id")?;
                let companies = links.remove(&customer_id).unwrap_or_default();
                Ok(CustomerRow {
                    customer_id,
                    name: r.try_get("name")?,
                    region: r.try_get("region")?,
                    suggestion: if companies.is_empty() { suggestions.remove(&customer_id) } else { None },
                    companies,
                    contract: r
                        .try_get::<Option<i64>, _>("contract_id")?
                        .map(|contract_id| -> Result<ChosenContract, sqlx::Error> {
                            Ok(ChosenContract {
                                contract_id,
                                name: r.try_get::<Option<String>, _>("contract_name")?.unwrap_or_default(),
                                flags: r.try_get("contract_flags")?,
                            })
                        })
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .internal()?;
        Ok(CustomerMapPage { rows, total, page, per_page, counts: self.counts(partner_id).await? })
    }

    async fn companies(&self, partner_id: i64, query: MapQuery) -> Result<CompanyMapPage, AppError> {
        let mut args = vec![Arg::Int(partner_id)];
        let mut where_sql = "k.partner_id = $1".to_string();
        where_sql.push_str(&search_sql(&query.search, "k.name_key", "k.company_id", &mut args));
        match query.companies {
            CompanyFilter::All => {}
            CompanyFilter::Matched => where_sql.push_str(" and k.match_state = 2"),
            CompanyFilter::Suggested => where_sql.push_str(" and k.match_state = 1"),
            CompanyFilter::Unmatched => where_sql.push_str(" and k.match_state = 0"),
        }
        let (total, page, per_page, rows) = self
            .paged(
                "k.company_id, k.name, k.type_label, k.company_type, k.is_active, k.missing",
                "autotask_company k",
                &where_sql,
                "k.name_key, k.company_id",
                &args,
                &query,
            )
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("company_id")).collect::<Result<_, _>>().internal()?;
        let mut links: HashMap<i64, Vec<LinkedCustomer>> = HashMap::new();
        for r in self.links(partner_id, "company_id", &ids).await? {
            let flags = link_flags(&r).internal()?.into_iter().filter(|f| f.code == "renamed").collect();
            links.entry(r.try_get("company_id").internal()?).or_default().push(LinkedCustomer {
                customer_id: r.try_get("customer_id").internal()?,
                name: r.try_get("customer_name").internal()?,
                companies: r.try_get("customer_companies").internal()?,
                flags,
            });
        }
        let mut suggestions: HashMap<i64, Suggestion> = HashMap::new();
        if !ids.is_empty() {
            let (sql, sargs) = in_list(
                "select s.company_id, s.customer_id, s.score, s.reason, c.name from match_suggestion s join customer c on c.customer_id = s.customer_id where s.partner_id = $1 and s.company_id in",
                partner_id,
                &ids,
            );
            for r in
                bind_all(sqlx::query(&format!("{sql} order by s.score desc, s.customer_id")), &sargs).fetch_all(&self.db.pool).await.internal()?
            {
                let company_id: i64 = r.try_get("company_id").internal()?;
                if suggestions.contains_key(&company_id) {
                    continue;
                }
                suggestions.insert(company_id, suggestion_from_row(&r, "customer_id").internal()?);
            }
        }
        let rows = rows
            .iter()
            .map(|r| -> Result<CompanyRow, sqlx::Error> {
                let company_id: i64 = r.try_get("company_id")?;
                let customers = links.remove(&company_id).unwrap_or_default();
                Ok(CompanyRow {
                    company_id,
                    name: r.try_get("name")?,
                    type_label: r.try_get("type_label")?,
                    active: r.try_get::<i64, _>("is_active")? != 0,
                    is_customer_type: r.try_get::<Option<i64>, _>("company_type")? == Some(COMPANY_TYPE_CUSTOMER),
                    missing: r.try_get::<i64, _>("missing")? != 0,
                    suggestion: if customers.is_empty() { suggestions.remove(&company_id) } else { None },
                    customers,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .internal()?;
        Ok(CompanyMapPage { rows, total, page, per_page, counts: self.counts(partner_id).await? })
    }

    async fn save(&self, actor: &CurrentUser, changes: Vec<MapChange>) -> Result<MapSaved, AppError> {
        let partner_id = actor.partner_id;
        if changes.is_empty() {
            return Err(AppError::invalid("changes", "There are no changes to save."));
        }
        if changes.len() > MAX_CHANGES {
            return Err(AppError::invalid("changes", format!("Save at most {MAX_CHANGES} changes at a time.")));
        }
        // Companies typed by ID are looked up in Autotask first (outside the transaction).
        let referenced: BTreeSet<i64> = changes
            .iter()
            .filter_map(|c| match c {
                MapChange::Link { company_id, .. } | MapChange::CreateCustomer { company_id } => Some(*company_id),
                _ => None,
            })
            .collect();
        self.ensure_companies(partner_id, &referenced).await?;
        // Chosen contracts are read from Autotask before the transaction, too.
        let chosen: BTreeSet<i64> = changes
            .iter()
            .filter_map(|c| match c {
                MapChange::SetContract { contract_id, .. } => *contract_id,
                _ => None,
            })
            .collect();
        let fetched = self.chosen_contracts(partner_id, &chosen).await?;

        let mut tx = self.db.begin().await.internal()?;
        let current: BTreeSet<(i64, i64)> = sqlx::query("select customer_id, company_id from customer_link where partner_id = $1")
            .bind(partner_id)
            .fetch_all(&mut *tx)
            .await
            .internal()?
            .iter()
            .map(|r| Ok((r.try_get("customer_id")?, r.try_get("company_id")?)))
            .collect::<Result<_, sqlx::Error>>()
            .internal()?;
        let customer_names: HashMap<i64, String> = sqlx::query("select customer_id, name from customer where partner_id = $1")
            .bind(partner_id)
            .fetch_all(&mut *tx)
            .await
            .internal()?
            .iter()
            .map(|r| Ok((r.try_get("customer_id")?, r.try_get("name")?)))
            .collect::<Result<_, sqlx::Error>>()
            .internal()?;
        let mut company_names: HashMap<i64, String> = HashMap::new();
        if !referenced.is_empty() || !current.is_empty() {
            let ids: Vec<i64> = referenced.iter().copied().chain(current.iter().map(|e| e.1)).collect::<BTreeSet<_>>().into_iter().collect();
            for chunk in ids.chunks(500) {
                let (sql, args) = in_list("select company_id, name from autotask_company where partner_id = $1 and company_id in", partner_id, chunk);
                for r in bind_all(sqlx::query(&sql), &args).fetch_all(&mut *tx).await.internal()? {
                    company_names.insert(r.try_get("company_id").internal()?, r.try_get("name").internal()?);
                }
            }
        }
        let customer_label = |id: i64| customer_names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        let mut edges = current.clone();
        let mut names = customer_names.clone();
        let mut created = Vec::new();
        let mut contracts: Vec<(i64, Option<i64>, bool)> = Vec::new();
        let mut history: Vec<String> = Vec::new();
        let now = now_ms();
        for change in &changes {
            match *change {
                MapChange::Link { customer_id, company_id } => {
                    if !names.contains_key(&customer_id) {
                        return Err(AppError::invalid("changes", format!("Customer {customer_id} does not exist.")));
                    }
                    if !edges.insert((customer_id, company_id)) {
                        return Err(AppError::invalid(
                            "changes",
                            format!("\u{201c}{}\u{201d} is already linked to Autotask company {company_id}.", customer_label(customer_id)),
                        ));
                    }
                }
                MapChange::Unlink { customer_id, company_id } => {
                    if !edges.remove(&(customer_id, company_id)) {
                        return Err(AppError::invalid(
                            "changes",
                            format!("\u{201c}{}\u{201d} is not linked to Autotask company {company_id}.", customer_label(customer_id)),
                        ));
                    }
                }
                MapChange::CreateCustomer { company_id } => {
                    let r = sqlx::query(&format!(
                        "select {} from autotask_company where partner_id = $1 and company_id = $2",
                        crate::services::companies::DISCOVERED_COLUMNS
                    ))
                    .bind(partner_id)
                    .bind(company_id)
                    .fetch_one(&mut *tx)
                    .await
                    .internal()?;
                    let company = crate::services::companies::discovered_from_row(&r).internal()?;
                    let draft = check(&company).map_err(|reason| {
                        AppError::invalid("changes", format!("\u{201c}{}\u{201d} cannot become a customer: {reason}", company.name))
                    })?;
                    let customer_id =
                        crate::services::companies::insert_customer(&mut tx, partner_id, &draft, "customer_map", now).await.internal()?;
                    names.insert(customer_id, draft.name.clone());
                    edges.insert((customer_id, company_id));
                    created.push((company_id, customer_id));
                    history.push(format!("Created customer \u{201c}{}\u{201d} from Autotask company {company_id}", draft.name));
                }
                MapChange::SetContract { customer_id, contract_id, confirm_flags } => {
                    if !names.contains_key(&customer_id) {
                        return Err(AppError::invalid("changes", format!("Customer {customer_id} does not exist.")));
                    }
                    contracts.push((customer_id, contract_id, confirm_flags));
                }
            }
        }
        check_groups(&edges, &names, &company_names)?;
        // Write the link differences.
        for (customer_id, company_id) in current.difference(&edges) {
            sqlx::query("delete from customer_link where partner_id = $1 and customer_id = $2 and company_id = $3")
                .bind(partner_id)
                .bind(customer_id)
                .bind(company_id)
                .execute(&mut *tx)
                .await
                .internal()?;
            sqlx::query("update customer set contract_id = null, contract_company_id = null, contract_name = null, contract_flags = null, contract_set_at = $1, contract_set_by = $2 where customer_id = $3 and contract_company_id = $4")
                .bind(now)
                .bind(&actor.email)
                .bind(customer_id)
                .bind(company_id)
                .execute(&mut *tx)
                .await
                .internal()?;
            history.push(format!(
                "Unlinked \u{201c}{}\u{201d} from Autotask company \u{201c}{}\u{201d} ({company_id})",
                customer_label(*customer_id),
                company_names.get(company_id).cloned().unwrap_or_default()
            ));
        }
        let created_ids: HashSet<i64> = created.iter().map(|c| c.1).collect();
        for (customer_id, company_id) in edges.difference(&current) {
            let customer_name = names.get(customer_id).cloned().unwrap_or_default();
            let company_name = company_names.get(company_id).cloned().unwrap_or_default();
            sqlx::query("insert into customer_link (partner_id, customer_id, company_id, customer_name_at_link, company_name_at_link, linked_at, linked_by) values ($1, $2, $3, $4, $5, $6, $7)")
                .bind(partner_id)
                .bind(customer_id)
                .bind(company_id)
                .bind(&customer_name)
                .bind(&company_name)
                .bind(now)
                .bind(&actor.email)
                .execute(&mut *tx)
                .await
                .internal()?;
            if !created_ids.contains(customer_id) {
                history.push(format!("Linked \u{201c}{customer_name}\u{201d} to Autotask company \u{201c}{company_name}\u{201d} ({company_id})"));
            }
        }
        // Contracts last: they must belong to a company the customer ends up linked to.
        for (customer_id, contract_id, confirm) in contracts {
            let companies: BTreeSet<i64> = edges.iter().filter(|e| e.0 == customer_id).map(|e| e.1).collect();
            match contract_id {
                None => {
                    sqlx::query("update customer set contract_id = null, contract_company_id = null, contract_name = null, contract_flags = null, contract_set_at = $1, contract_set_by = $2 where customer_id = $3")
                        .bind(now)
                        .bind(&actor.email)
                        .bind(customer_id)
                        .execute(&mut *tx)
                        .await
                        .internal()?;
                    history.push(format!("Cleared the billing contract of \u{201c}{}\u{201d}", customer_label(customer_id)));
                }
                Some(contract_id) => {
                    let Some((contract, flags)) = fetched.get(&contract_id).cloned() else {
                        return Err(AppError::invalid("changes", format!("Autotask has no contract with ID {contract_id}.")));
                    };
                    if !contract.company_id.is_some_and(|c| companies.contains(&c)) {
                        return Err(AppError::invalid(
                            "changes",
                            format!("Contract {contract_id} does not belong to a company linked to this customer. Link the company first, or use Get contracts."),
                        ));
                    }
                    let name = contract.contract_name.clone().unwrap_or_default();
                    let blocking: Vec<&Flag> = flags.iter().filter(|f| f.code != "no_services").collect();
                    if !blocking.is_empty() && !confirm {
                        return Err(AppError::invalid(
                            "changes",
                            format!(
                                "Contract \u{201c}{name}\u{201d} is flagged: {} Confirm to use it anyway.",
                                blocking.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" ")
                            ),
                        ));
                    }
                    let flag_text = (!blocking.is_empty()).then(|| blocking.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" "));
                    sqlx::query("update customer set contract_id = $1, contract_company_id = $2, contract_name = $3, contract_flags = $4, contract_set_at = $5, contract_set_by = $6 where customer_id = $7")
                        .bind(contract_id)
                        .bind(contract.company_id)
                        .bind(&name)
                        .bind(&flag_text)
                        .bind(now)
                        .bind(&actor.email)
                        .bind(customer_id)
                        .execute(&mut *tx)
                        .await
                        .internal()?;
                    let confirmed = if flag_text.is_some() { " (flagged; confirmed)" } else { "" };
                    history.push(format!(
                        "Chose billing contract \u{201c}{name}\u{201d} ({contract_id}) for \u{201c}{}\u{201d}{confirmed}",
                        customer_label(customer_id)
                    ));
                }
            }
        }
        for line in &history {
            audit::record(&mut *tx, partner_id, &actor.email, "map.change", line).await?;
        }
        tx.commit().await.internal()?;
        rematch(&self.db, partner_id).await?;
        Ok(MapSaved { applied: changes.len(), created })
    }

    async fn contracts(&self, partner_id: i64, customer_id: i64) -> Result<Vec<ContractOption>, AppError> {
        let exists = sqlx::query("select 1 as x from customer where partner_id = $1 and customer_id = $2")
            .bind(partner_id)
            .bind(customer_id)
            .fetch_optional(&self.db.pool)
            .await
            .internal()?;
        if exists.is_none() {
            return Err(AppError::NotFound);
        }
        let companies: Vec<i64> = sqlx::query_scalar("select company_id from customer_link where partner_id = $1 and customer_id = $2")
            .bind(partner_id)
            .bind(customer_id)
            .fetch_all(&self.db.pool)
            .await
            .internal()?;
        if companies.is_empty() {
            return Err(AppError::Conflict("Link this customer to its Autotask company first; contracts belong to companies.".into()));
        }
        let client = self.settings.client(partner_id).await.map_err(|p| AppError::Conflict(p.message))?;
        let mut contracts: Vec<Contract> = Vec::new();
        for filter in crate::autotask::query::in_batches("companyID", &companies) {
            contracts.extend(client.query::<Contract>(&Query::new([filter])).await.map_err(autotask_problem)?);
        }
        let mut options = self.contract_options(&client, &contracts).await?;
        // Fit contracts first, then by name.
        options.sort_by(|a, b| {
            a.flags
                .iter()
                .filter(|f| f.code != "no_services")
                .count()
                .cmp(&b.flags.iter().filter(|f| f.code != "no_services").count())
                .then(a.name.cmp(&b.name))
        });
        Ok(options)
    }

    async fn history(&self, partner_id: i64) -> Result<Vec<MapHistoryEntry>, AppError> {
        let rows = sqlx::query("select created_at, actor, summary from audit_event where partner_id = $1 and action = 'map.change' order by created_at desc, audit_id desc limit 50")
            .bind(partner_id)
            .fetch_all(&self.db.pool)
            .await
            .internal()?;
        rows.iter()
            .map(|r| Ok(MapHistoryEntry { at: r.try_get("created_at")?, actor: r.try_get("actor")?, summary: r.try_get("summary")? }))
            .collect::<Result<_, sqlx::Error>>()
            .internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_stay_one_to_one_or_one_to_many() {
        let names = HashMap::new();
        let ok: BTreeSet<(i64, i64)> = [(1, 10), (1, 11), (2, 12), (3, 12)].into_iter().collect();
        assert!(check_groups(&ok, &names, &names).is_ok());
        // Customer 1 has two companies; company 10 gets a second customer: many-to-many.
        let bad: BTreeSet<(i64, i64)> = [(1, 10), (1, 11), (2, 10)].into_iter().collect();
        let err = check_groups(&bad, &names, &names).unwrap_err();
        assert!(err.to_string().contains("1-to-many"), "{err}");
    }

    #[test]
    fn contracts_are_flagged_with_each_reason() {
        let fine = Contract { id: 1, contract_type: Some(7), status: Some(1), end_date: Some("2030-12-31T00:00:00Z".into()), ..Contract::default() };
        assert!(contract_flags(&fine, "Recurring Service", 2, 0, "2026-11-22").is_empty());
        let codes = |c: &Contract, s, b| contract_flags(c, "Time & Materials", s, b, "2026-11-22").into_iter().map(|f| f.code).collect::<Vec<_>>();
        assert_eq!(codes(&Contract { contract_type: Some(1), ..fine.clone() }, 1, 0), ["not_recurring"]);
        assert_eq!(
            codes(&Contract { status: Some(0), end_date: Some("2025-12-31T00:00:00Z".into()), ..fine.clone() }, 1, 0),
            ["inactive", "expired"]
        );
        assert_eq!(codes(&fine, 0, 1), ["bundle_only"]);
        assert_eq!(codes(&fine, 0, 0), ["no_services"]);
    }
}
