//! The billing push: for each mapped customer with a billing contract, the quantity
//! Autotask bills for each mapped product is read and, where Taskbridge's differs, a
//! contract service adjustment writes the difference. Reads are batched (`in` lists of
//! up to 500); no call is made for an unchanged quantity.
//!
//! Adjustments cannot be queried or deleted in Autotask, so a push never trusts what it
//! recorded: it re-reads the billed units right before writing. A crash between writing
//! an adjustment and recording it, or an answer lost on the way back, leaves Autotask
//! already right, and the next push finds nothing to change.

use crate::autotask::entities::{Contract, ContractService, ContractServiceUnit, Service, ServiceBundleService};
use crate::autotask::query::in_batches;
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::db::{now_ms, Db};
use app::types::billing::{billable_units, product, LineStatus, PushLine, PushPreview, PushResult, PushSelection, Rounding};
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// Why a push could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Reading from Autotask failed.
    #[error("{0}")]
    Autotask(#[from] AutotaskError),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Another push of this partner is running.
    #[error("A push is already running for this partner; wait for it to finish.")]
    Busy,
}

/// The current billing month, UTC (`YYYY-MM`).
pub fn current_period(now_ms: i64) -> String {
    app::format::iso_utc(now_ms)[..7].to_string()
}

/// Rows of `T` whose `field` is in `ids` (batched at 500), with extra filters.
async fn read_in<T: crate::autotask::entities::Entity>(client: &AutotaskClient, field: &str, ids: &[i64], extra: &[Filter]) -> Result<Vec<T>, AutotaskError> {
    let mut out = Vec::new();
    for f in in_batches(field, ids) {
        let mut filters = vec![f];
        filters.extend(extra.iter().cloned());
        out.extend(client.query::<T>(&Query::new(filters)).await?);
    }
    Ok(out)
}

struct Mapping {
    service_id: i64,
    rounding: Rounding,
    unit_size: f64,
}

/// What Autotask bills, read for a set of contracts.
struct Billed {
    contracts: HashMap<i64, Contract>,
    /// (contract, service) → contract service.
    services: HashMap<(i64, i64), ContractService>,
    /// (contract, service) pairs sold only inside a bundle.
    in_bundle: HashSet<(i64, i64)>,
    /// contract service → units this period.
    units: HashMap<i64, i64>,
    /// service → list price.
    prices: HashMap<i64, f64>,
}

async fn read_billed(client: &AutotaskClient, contract_ids: &[i64], service_ids: &[i64], now: i64) -> Result<Billed, AutotaskError> {
    let contracts: Vec<Contract> = read_in(client, "id", contract_ids, &[]).await?;
    let services: Vec<ContractService> = read_in(client, "contractID", contract_ids, &[]).await?;
    let bundles = {
        let mut rows = Vec::new();
        for f in in_batches("contractID", contract_ids) {
            rows.extend(client.query_all_raw("ContractServiceBundles", &Query::new([f])).await?);
        }
        rows
    };
    let bundle_ids: Vec<i64> = bundles.iter().filter_map(|b| b.get("serviceBundleID").and_then(|v| v.as_i64())).collect::<HashSet<_>>().into_iter().collect();
    let members: Vec<ServiceBundleService> = if bundle_ids.is_empty() { Vec::new() } else { read_in(client, "serviceBundleID", &bundle_ids, &[]).await? };
    let mut in_bundle = HashSet::new();
    for b in &bundles {
        let (Some(contract), Some(bundle)) = (b.get("contractID").and_then(|v| v.as_i64()), b.get("serviceBundleID").and_then(|v| v.as_i64())) else { continue };
        for m in members.iter().filter(|m| m.service_bundle_id == Some(bundle)) {
            if let Some(s) = m.service_id {
                in_bundle.insert((contract, s));
            }
        }
    }
    let cs_ids: Vec<i64> = services.iter().map(|s| s.id).collect();
    let today = app::format::iso_utc(now);
    let period_rows: Vec<ContractServiceUnit> =
        if cs_ids.is_empty() { Vec::new() } else { read_in(client, "contractServiceID", &cs_ids, &[Filter::lte("startDate", today.clone()), Filter::gt("endDate", today)]).await? };
    let units = period_rows.iter().filter_map(|u| Some((u.contract_service_id?, u.units.unwrap_or_default()))).collect();
    let list: Vec<Service> = if service_ids.is_empty() { Vec::new() } else { read_in(client, "id", service_ids, &[]).await? };
    Ok(Billed {
        contracts: contracts.into_iter().map(|c| (c.id, c)).collect(),
        services: services.into_iter().filter_map(|s| Some(((s.contract_id?, s.service_id?), s))).collect(),
        in_bundle,
        units,
        prices: list.into_iter().map(|s| (s.id, s.unit_price.unwrap_or_default())).collect(),
    })
}

/// The preview: every (customer, product) with usage this period, what Autotask bills,
/// what Taskbridge would bill, and why a line cannot be pushed.
pub async fn preview(db: &Db, client: &AutotaskClient, partner_id: i64, only: Option<&[(i64, String)]>) -> Result<PushPreview, PushError> {
    let now = now_ms();
    let period = current_period(now);
    let mappings: HashMap<String, Mapping> = sqlx::query("select product, service_id, rounding, unit_size from product_mapping where partner_id = $1 and service_id is not null")
        .bind(partner_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("product")?,
                Mapping { service_id: r.try_get("service_id")?, rounding: Rounding::parse(&r.try_get::<String, _>("rounding")?).unwrap_or_default(), unit_size: r.try_get("unit_size")? },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let rows = sqlx::query(
        "select u.customer_id, c.name, c.contract_id, u.product, u.quantity from usage_report u join customer c on c.customer_id = u.customer_id \
         where u.partner_id = $1 and u.period = $2 order by c.name_key, u.customer_id, u.product",
    )
    .bind(partner_id)
    .bind(&period)
    .fetch_all(&db.pool)
    .await?;
    struct Usage {
        customer_id: i64,
        name: String,
        contract_id: Option<i64>,
        product: String,
        quantity: f64,
    }
    let mut usage = Vec::new();
    for r in rows {
        let u = Usage { customer_id: r.try_get("customer_id")?, name: r.try_get("name")?, contract_id: r.try_get("contract_id")?, product: r.try_get("product")?, quantity: r.try_get("quantity")? };
        if only.is_none_or(|o| o.iter().any(|(c, p)| *c == u.customer_id && *p == u.product)) {
            usage.push(u);
        }
    }
    let contract_ids: Vec<i64> = usage.iter().filter(|u| mappings.contains_key(&u.product)).filter_map(|u| u.contract_id).collect::<HashSet<_>>().into_iter().collect();
    let service_ids: Vec<i64> = mappings.values().map(|m| m.service_id).collect::<HashSet<_>>().into_iter().collect();
    let billed = if contract_ids.is_empty() {
        Billed { contracts: HashMap::new(), services: HashMap::new(), in_bundle: HashSet::new(), units: HashMap::new(), prices: HashMap::new() }
    } else {
        read_billed(client, &contract_ids, &service_ids, now).await?
    };
    let mut lines = Vec::with_capacity(usage.len());
    for u in usage {
        let label = product(&u.product).map_or(u.product.as_str(), |p| p.label);
        let mut line = PushLine {
            customer_id: u.customer_id,
            customer_name: u.name.clone(),
            product: u.product.clone(),
            contract_id: u.contract_id,
            service_id: None,
            autotask_units: None,
            quantity: Some(u.quantity),
            taskbridge_units: None,
            change: 0,
            unit_price: 0.0,
            money: 0.0,
            status: LineStatus::Skipped,
            reason: None,
        };
        let skip = |mut line: PushLine, why: String| {
            line.reason = Some(why);
            line
        };
        let Some(m) = mappings.get(&u.product) else {
            lines.push(skip(line, format!("{label} is not mapped to an Autotask service (Setup \u{203a} Billing).")));
            continue;
        };
        line.service_id = Some(m.service_id);
        line.taskbridge_units = Some(billable_units(u.quantity, m.rounding, m.unit_size));
        let Some(contract_id) = u.contract_id else {
            lines.push(skip(line, "No billing contract: choose one with Get contracts on the Customer Map.".into()));
            continue;
        };
        let Some(contract) = billed.contracts.get(&contract_id) else {
            lines.push(skip(line, format!("Contract {contract_id} is no longer in Autotask: choose another on the Customer Map.")));
            continue;
        };
        if contract.contract_type != Some(crate::map::CONTRACT_TYPE_RECURRING) {
            lines.push(skip(line, "The billing contract is not a Recurring Service contract; Autotask takes service adjustments only on those.".into()));
            continue;
        }
        let Some(cs) = billed.services.get(&(contract_id, m.service_id)) else {
            let why = if billed.in_bundle.contains(&(contract_id, m.service_id)) {
                "The service is sold only inside a service bundle on this contract; adjust the bundle in Autotask.".to_string()
            } else {
                "The service is not on the billing contract yet; add it to the contract in Autotask.".to_string()
            };
            lines.push(skip(line, why));
            continue;
        };
        let current = billed.units.get(&cs.id).copied().unwrap_or(0);
        let target = line.taskbridge_units.unwrap_or_default();
        line.autotask_units = Some(current);
        line.change = target - current;
        line.unit_price = cs.unit_price.or_else(|| billed.prices.get(&m.service_id).copied()).unwrap_or_default();
        line.money = line.change as f64 * line.unit_price;
        line.status = if line.change == 0 { LineStatus::Unchanged } else { LineStatus::Change };
        lines.push(line);
    }
    let changes = lines.iter().filter(|l| l.status == LineStatus::Change).count();
    let money = lines.iter().filter(|l| l.status == LineStatus::Change).map(|l| l.money).sum();
    Ok(PushPreview { period, lines, changes, money })
}

/// Applies the selected changes: re-reads what Autotask bills, writes one adjustment per
/// line that still differs, and records the run and every line in the history.
pub async fn apply(db: &Db, client: &AutotaskClient, partner_id: i64, actor: &str, selection: &PushSelection) -> Result<PushResult, PushError> {
    let started = now_ms();
    // A run left 'running' by a dead process stops blocking after 15 minutes.
    sqlx::query("update push_run set state = 'failed', finished_at = $1, summary = 'Interrupted (the process stopped)' where partner_id = $2 and state = 'running' and started_at < $3")
        .bind(started)
        .bind(partner_id)
        .bind(started - 15 * 60_000)
        .execute(&db.pool)
        .await?;
    let push_id: i64 = match sqlx::query("insert into push_run (partner_id, period, kind, state, started_at, started_by) values ($1, $2, 'apply', 'running', $3, $4) returning push_id")
        .bind(partner_id)
        .bind(current_period(started))
        .bind(started)
        .bind(actor)
        .fetch_one(&db.pool)
        .await
    {
        Ok(r) => r.try_get("push_id")?,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(PushError::Busy),
        Err(e) => return Err(e.into()),
    };
    let result = run(db, client, partner_id, push_id, selection).await;
    let (state, summary) = match &result {
        Ok(r) => ("done", format!("{} applied, {} unchanged, {} held, {} failed", r.applied, r.unchanged, r.held, r.failed)),
        Err(e) => ("failed", e.to_string()),
    };
    sqlx::query("update push_run set state = $1, finished_at = $2, summary = $3 where push_id = $4").bind(state).bind(now_ms()).bind(summary).bind(push_id).execute(&db.pool).await?;
    result
}

async fn run(db: &Db, client: &AutotaskClient, partner_id: i64, push_id: i64, selection: &PushSelection) -> Result<PushResult, PushError> {
    // Fresh reads, right before writing.
    let fresh = preview(db, client, partner_id, selection.lines.as_deref()).await?;
    let today = format!("{}T00:00:00Z", &app::format::iso_utc(now_ms())[..10]);
    let mut out = PushResult { push_id, applied: 0, unchanged: 0, held: 0, failed: 0, lines: Vec::new() };
    for mut line in fresh.lines {
        match line.status {
            LineStatus::Unchanged => {
                out.unchanged += 1;
                continue;
            }
            LineStatus::Skipped => {}
            _ if selection.hold_above.is_some_and(|t| line.change.abs() > t) => {
                line.status = LineStatus::Held;
                line.reason = Some(format!("A change of {} units is above the approval threshold; approve it to write it.", line.change));
                out.held += 1;
            }
            _ => {
                let (contract_id, service_id) = (line.contract_id.unwrap_or_default(), line.service_id.unwrap_or_default());
                let body = serde_json::json!({"contractID": contract_id, "serviceID": service_id, "effectiveDate": today, "unitChange": line.change});
                match client.create("ContractServiceAdjustments", &body).await {
                    Ok(_) => {
                        line.status = LineStatus::Applied;
                        out.applied += 1;
                    }
                    Err(e) => {
                        // The answer may have been lost after Autotask wrote it: look again.
                        let again = preview(db, client, partner_id, Some(&[(line.customer_id, line.product.clone())])).await;
                        match again.ok().and_then(|p| p.lines.into_iter().next()) {
                            Some(l) if l.status == LineStatus::Unchanged => {
                                line.status = LineStatus::Applied;
                                out.applied += 1;
                            }
                            _ => {
                                line.status = LineStatus::Failed;
                                line.reason = Some(format!("{e} Nothing was changed for this line; Sync again to retry."));
                                out.failed += 1;
                            }
                        }
                    }
                }
            }
        }
        sqlx::query(
            "insert into push_line (push_id, partner_id, customer_id, product, contract_id, service_id, before_units, after_units, unit_change, unit_price, outcome, reason, written_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(push_id)
        .bind(partner_id)
        .bind(line.customer_id)
        .bind(&line.product)
        .bind(line.contract_id)
        .bind(line.service_id)
        .bind(line.autotask_units)
        .bind(line.taskbridge_units)
        .bind(line.change)
        .bind(line.unit_price)
        .bind(match line.status {
            LineStatus::Applied => "applied",
            LineStatus::Held => "held",
            LineStatus::Failed => "failed",
            _ => "skipped",
        })
        .bind(&line.reason)
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
        out.lines.push(line);
    }
    Ok(out)
}
