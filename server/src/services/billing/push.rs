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
use crate::exports::{Cell, CsvBuilder};
use app::types::billing::{billable_units, product, LineStatus, PushLine, PushPreview, PushResult, PushRun, PushSelection, Rounding};
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
    /// The request cannot be done (the reason says why).
    #[error("{0}")]
    Refused(String),
}

/// The current billing month, UTC (`YYYY-MM`).
pub fn current_period(now_ms: i64) -> String {
    app::format::iso_utc(now_ms)[..7].to_string()
}

/// Rows of `T` whose `field` is in `ids` (batched at 500), with extra filters.
async fn read_in<T: crate::autotask::entities::Entity>(
    client: &AutotaskClient,
    field: &str,
    ids: &[i64],
    extra: &[Filter],
) -> Result<Vec<T>, AutotaskError> {
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
    let bundle_ids: Vec<i64> =
        bundles.iter().filter_map(|b| b.get("serviceBundleID").and_then(|v| v.as_i64())).collect::<HashSet<_>>().into_iter().collect();
    let members: Vec<ServiceBundleService> =
        if bundle_ids.is_empty() { Vec::new() } else { read_in(client, "serviceBundleID", &bundle_ids, &[]).await? };
    let mut in_bundle = HashSet::new();
    for b in &bundles {
        let (Some(contract), Some(bundle)) = (b.get("contractID").and_then(|v| v.as_i64()), b.get("serviceBundleID").and_then(|v| v.as_i64())) else {
            continue;
        };
        for m in members.iter().filter(|m| m.service_bundle_id == Some(bundle)) {
            if let Some(s) = m.service_id {
                in_bundle.insert((contract, s));
            }
        }
    }
    let cs_ids: Vec<i64> = services.iter().map(|s| s.id).collect();
    let today = app::format::iso_utc(now);
    let period_rows: Vec<ContractServiceUnit> = if cs_ids.is_empty() {
        Vec::new()
    } else {
        read_in(client, "contractServiceID", &cs_ids, &[Filter::lte("startDate", today.clone()), Filter::gt("endDate", today)]).await?
    };
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
    let mappings: HashMap<String, Mapping> =
        sqlx::query("select product, service_id, rounding, unit_size from product_mapping where partner_id = $1 and service_id is not null")
            .bind(partner_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("product")?,
                    Mapping {
                        service_id: r.try_get("service_id")?,
                        rounding: Rounding::parse(&r.try_get::<String, _>("rounding")?).unwrap_or_default(),
                        unit_size: r.try_get("unit_size")?,
                    },
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
        let u = Usage {
            customer_id: r.try_get("customer_id")?,
            name: r.try_get("name")?,
            contract_id: r.try_get("contract_id")?,
            product: r.try_get("product")?,
            quantity: r.try_get("quantity")?,
        };
        if only.is_none_or(|o| o.iter().any(|(c, p)| *c == u.customer_id && *p == u.product)) {
            usage.push(u);
        }
    }
    let allow_add = crate::db::billing_schedule::get(db, partner_id).await?.allow_add_service;
    let contract_ids: Vec<i64> =
        usage.iter().filter(|u| mappings.contains_key(&u.product)).filter_map(|u| u.contract_id).collect::<HashSet<_>>().into_iter().collect();
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
        if contract.contract_type != Some(crate::services::map::CONTRACT_TYPE_RECURRING) {
            lines.push(skip(
                line,
                "The billing contract is not a Recurring Service contract; Autotask takes service adjustments only on those.".into(),
            ));
            continue;
        }
        let cs = billed.services.get(&(contract_id, m.service_id));
        if cs.is_none() {
            if billed.in_bundle.contains(&(contract_id, m.service_id)) {
                lines.push(skip(line, "The service is sold only inside a service bundle on this contract; adjust the bundle in Autotask.".into()));
                continue;
            }
            if !allow_add {
                lines.push(skip(
                    line,
                    "The service is not on the billing contract; add it in Autotask, or allow pushes to add it (Setup \u{203a} Billing).".into(),
                ));
                continue;
            }
            line.reason = Some("Adds the service to the contract (allowed in Billing settings).".into());
        }
        let current = cs.and_then(|cs| billed.units.get(&cs.id).copied()).unwrap_or(0);
        let target = line.taskbridge_units.unwrap_or_default();
        line.autotask_units = Some(current);
        line.change = target - current;
        // In the internal currency, so that every amount and the total are in one currency.
        line.unit_price = cs
            .and_then(|cs| cs.internal_currency_unit_price.or(cs.unit_price))
            .or_else(|| billed.prices.get(&m.service_id).copied())
            .unwrap_or_default();
        line.money = line.change as f64 * line.unit_price;
        line.status = if line.change == 0 { LineStatus::Unchanged } else { LineStatus::Change };
        lines.push(line);
    }
    let count = |status: LineStatus| lines.iter().filter(|l| l.status == status).count();
    let (changes, skipped, unchanged) = (count(LineStatus::Change), count(LineStatus::Skipped), count(LineStatus::Unchanged));
    let money = lines.iter().filter(|l| l.status == LineStatus::Change).map(|l| l.money).sum();
    let total = lines.len();
    // The currency is only for showing money: the Billing page reads it (`internal_currency`);
    // a push, which writes units, does not spend a call on it.
    Ok(PushPreview {
        period,
        lines,
        changes,
        money,
        total,
        skipped,
        unchanged,
        computed_at: now,
        matching: total,
        matching_changes: changes,
        page: 1,
        per_page: total as i64,
        currency: String::new(),
    })
}

/// The ISO code of the partner's internal currency, or "" when Autotask does not say (a
/// partner whose API user may not read it still gets the preview).
pub async fn internal_currency(client: &AutotaskClient) -> String {
    match client.query::<crate::autotask::entities::Currency>(&Query::new([Filter::eq("isInternalCurrency", true)])).await {
        Ok(found) => found.into_iter().find_map(|c| c.name).unwrap_or_default(),
        Err(e) => {
            tracing::debug!(error = %e, "internal currency not read");
            String::new()
        }
    }
}

/// Applies the selected changes: re-reads what Autotask bills, writes one adjustment per
/// line that still differs, and records the run and every line in the history.
pub async fn apply(db: &Db, client: &AutotaskClient, partner_id: i64, actor: &str, selection: &PushSelection) -> Result<PushResult, PushError> {
    let push_id = start_run(db, partner_id, actor, "apply", None).await?;
    let result = run(db, client, partner_id, push_id, selection).await;
    finish_run(db, push_id, &result).await?;
    result
}

async fn start_run(db: &Db, partner_id: i64, actor: &str, kind: &str, undo_of: Option<i64>) -> Result<i64, PushError> {
    let started = now_ms();
    // A run left 'running' by a dead process stops blocking after 15 minutes.
    sqlx::query("update push_run set state = 'failed', finished_at = $1, summary = 'Interrupted (the process stopped)' where partner_id = $2 and state = 'running' and started_at < $3")
        .bind(started)
        .bind(partner_id)
        .bind(started - 15 * 60_000)
        .execute(&db.pool)
        .await?;
    match sqlx::query("insert into push_run (partner_id, period, kind, state, started_at, started_by, undo_of) values ($1, $2, $3, 'running', $4, $5, $6) returning push_id")
        .bind(partner_id)
        .bind(current_period(started))
        .bind(kind)
        .bind(started)
        .bind(actor)
        .bind(undo_of)
        .fetch_one(&db.pool)
        .await
    {
        Ok(r) => Ok(r.try_get("push_id")?),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(PushError::Busy),
        Err(e) => Err(e.into()),
    }
}

async fn finish_run(db: &Db, push_id: i64, result: &Result<PushResult, PushError>) -> Result<(), PushError> {
    let (state, summary) = match result {
        Ok(r) => ("done", format!("{} applied, {} unchanged, {} held, {} failed", r.applied, r.unchanged, r.held, r.failed)),
        Err(e) => ("failed", e.to_string()),
    };
    sqlx::query("update push_run set state = $1, finished_at = $2, summary = $3 where push_id = $4")
        .bind(state)
        .bind(now_ms())
        .bind(summary)
        .bind(push_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

async fn record_line(db: &Db, push_id: i64, partner_id: i64, line: &PushLine) -> Result<(), sqlx::Error> {
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
    Ok(())
}

/// Units Autotask bills this period for a service on a contract.
async fn billed_units(client: &AutotaskClient, contract_id: i64, service_id: i64) -> Result<i64, AutotaskError> {
    let today = app::format::iso_utc(now_ms());
    let rows: Vec<ContractServiceUnit> = client
        .query(&Query::new([
            Filter::eq("contractID", contract_id),
            Filter::eq("serviceID", service_id),
            Filter::lte("startDate", today.clone()),
            Filter::gt("endDate", today),
        ]))
        .await?;
    Ok(rows.iter().filter_map(|u| u.units).sum())
}

/// An undo run `u` that is over with no failed line; one with failures leaves the push
/// open to be undone again (its lines already undone then answer "already back").
const COMPLETE_UNDO: &str = "u.state = 'done' and not exists (select 1 from push_line f where f.push_id = u.push_id and f.outcome = 'failed')";

/// Undoes a push: for every line it applied whose quantity Autotask still bills, writes
/// the opposite adjustment. A line changed since is left alone, with the reason.
pub async fn undo(db: &Db, client: &AutotaskClient, partner_id: i64, actor: &str, push_id: i64) -> Result<PushResult, PushError> {
    let run = sqlx::query("select kind, state from push_run where push_id = $1 and partner_id = $2")
        .bind(push_id)
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(run) = run else { return Err(PushError::Refused("There is no such push.".into())) };
    if run.try_get::<String, _>("kind")? != "apply" {
        return Err(PushError::Refused("An undo cannot be undone; push again instead.".into()));
    }
    if let Some(by) = sqlx::query(&format!("select u.push_id from push_run u where u.undo_of = $1 and {COMPLETE_UNDO}"))
        .bind(push_id)
        .fetch_optional(&db.pool)
        .await?
    {
        return Err(PushError::Refused(format!("Push {push_id} was already undone by push {}.", by.try_get::<i64, _>("push_id")?)));
    }
    let undo_id = start_run(db, partner_id, actor, "undo", Some(push_id)).await?;
    let result = undo_lines(db, client, partner_id, push_id, undo_id).await;
    finish_run(db, undo_id, &result).await?;
    result
}

async fn undo_lines(db: &Db, client: &AutotaskClient, partner_id: i64, push_id: i64, undo_id: i64) -> Result<PushResult, PushError> {
    use futures_util::stream::{self, StreamExt};
    let rows = sqlx::query(
        "select l.customer_id, c.name, l.product, l.contract_id, l.service_id, l.before_units, l.after_units, l.unit_change, l.unit_price \
         from push_line l join customer c on c.customer_id = l.customer_id where l.push_id = $1 and l.outcome = 'applied' order by l.line_id",
    )
    .bind(push_id)
    .fetch_all(&db.pool)
    .await?;
    let pushed = rows
        .iter()
        .map(|r| {
            Ok(Pushed {
                line: PushLine {
                    customer_id: r.try_get("customer_id")?,
                    customer_name: r.try_get("name")?,
                    product: r.try_get("product")?,
                    contract_id: Some(r.try_get::<Option<i64>, _>("contract_id")?.unwrap_or_default()),
                    service_id: Some(r.try_get::<Option<i64>, _>("service_id")?.unwrap_or_default()),
                    autotask_units: None,
                    quantity: None,
                    taskbridge_units: r.try_get("before_units")?,
                    change: -r.try_get::<i64, _>("unit_change")?,
                    unit_price: r.try_get("unit_price")?,
                    money: -(r.try_get::<i64, _>("unit_change")? as f64) * r.try_get::<f64, _>("unit_price")?,
                    status: LineStatus::Skipped,
                    reason: None,
                },
                after: r.try_get("after_units")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let today = format!("{}T00:00:00Z", &app::format::iso_utc(now_ms())[..10]);
    let mut out = PushResult { push_id: undo_id, applied: 0, unchanged: 0, held: 0, failed: 0, lines: Vec::new() };
    let mut undone = stream::iter(pushed).map(|p| undo_line(client, &today, p)).buffered(WRITE_THREADS);
    while let Some(line) = undone.next().await {
        tally(&mut out, &line);
        record_line(db, undo_id, partner_id, &line).await?;
        out.lines.push(line);
    }
    Ok(out)
}

/// A line a push applied, as its undo starts from.
struct Pushed {
    /// The compensating line: `taskbridge_units` is the quantity before the push and
    /// `change` the opposite of the push's.
    line: PushLine,
    /// The quantity the push left.
    after: Option<i64>,
}

/// Writes the opposite adjustment of one pushed line if Autotask still bills what the push
/// left; a line changed since is left alone, with the reason. A failure stays on its line.
async fn undo_line(client: &AutotaskClient, today: &str, Pushed { mut line, after }: Pushed) -> PushLine {
    let (contract_id, service_id) = (line.contract_id.unwrap_or_default(), line.service_id.unwrap_or_default());
    let (before, change) = (line.taskbridge_units, line.change);
    let current = match billed_units(client, contract_id, service_id).await {
        Ok(units) => units,
        Err(e) => {
            line.status = LineStatus::Failed;
            line.reason = Some(format!("{e} Nothing was changed for this line; undo again to retry."));
            return line;
        }
    };
    line.autotask_units = Some(current);
    if Some(current) == before {
        line.change = 0;
        line.status = LineStatus::Unchanged;
        line.reason = Some("Already back at the earlier quantity.".into());
    } else if Some(current) != after {
        line.change = 0;
        line.reason = Some(format!("Changed since the push (Autotask now bills {current}); left as it is."));
    } else {
        let body = serde_json::json!({"contractID": contract_id, "serviceID": service_id, "effectiveDate": today, "unitChange": change});
        match client.create("ContractServiceAdjustments", &body).await {
            Ok(_) => line.status = LineStatus::Applied,
            // The answer may have been lost after Autotask wrote it: look again.
            Err(_) if billed_units(client, contract_id, service_id).await.ok() == before => line.status = LineStatus::Applied,
            Err(e) => {
                line.status = LineStatus::Failed;
                line.reason = Some(format!("{e} Undo again to retry."));
            }
        }
    }
    line
}

/// Recent pushes, newest first.
pub async fn history(db: &Db, partner_id: i64) -> Result<Vec<PushRun>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select r.push_id, r.kind, r.state, r.period, r.started_at, r.started_by, r.finished_at, r.summary, r.undo_of, \
         (select min(u.push_id) from push_run u where u.undo_of = r.push_id and {COMPLETE_UNDO}) as undone_by, \
         (select count(*) from push_line l where l.push_id = r.push_id and l.outcome = 'applied') as applied \
         from push_run r where r.partner_id = $1 order by r.push_id desc limit 100"
    ))
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PushRun {
                push_id: r.try_get("push_id")?,
                kind: r.try_get("kind")?,
                state: r.try_get("state")?,
                period: r.try_get("period")?,
                started_at: r.try_get("started_at")?,
                started_by: r.try_get("started_by")?,
                finished_at: r.try_get("finished_at")?,
                summary: r.try_get("summary")?,
                undo_of: r.try_get("undo_of")?,
                undone_by: r.try_get("undone_by")?,
                applied: r.try_get("applied")?,
            })
        })
        .collect()
}

/// The lines of a push of the partner.
pub async fn lines(db: &Db, partner_id: i64, push_id: i64) -> Result<Vec<PushLine>, sqlx::Error> {
    let rows = sqlx::query(
        "select l.customer_id, c.name, l.product, l.contract_id, l.service_id, l.before_units, l.after_units, l.unit_change, l.unit_price, l.outcome, l.reason \
         from push_line l join customer c on c.customer_id = l.customer_id where l.push_id = $1 and l.partner_id = $2 order by l.line_id",
    )
    .bind(push_id)
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let change: i64 = r.try_get("unit_change")?;
            let unit_price: f64 = r.try_get("unit_price")?;
            Ok(PushLine {
                customer_id: r.try_get("customer_id")?,
                customer_name: r.try_get("name")?,
                product: r.try_get("product")?,
                contract_id: r.try_get("contract_id")?,
                service_id: r.try_get("service_id")?,
                autotask_units: r.try_get("before_units")?,
                quantity: None,
                taskbridge_units: r.try_get("after_units")?,
                change,
                unit_price,
                money: change as f64 * unit_price,
                status: match r.try_get::<String, _>("outcome")?.as_str() {
                    "applied" => LineStatus::Applied,
                    "held" => LineStatus::Held,
                    "failed" => LineStatus::Failed,
                    _ => LineStatus::Skipped,
                },
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}

/// Every push line of the partner as CSV (who, when, what, outcome).
pub async fn history_csv(db: &Db, partner_id: i64) -> anyhow::Result<String> {
    let rows = sqlx::query(
        "select r.push_id, r.kind, r.period, r.started_at, r.started_by, r.undo_of, l.customer_id, c.name, l.product, l.contract_id, l.service_id, \
         l.before_units, l.after_units, l.unit_change, l.unit_price, l.outcome, l.reason \
         from push_line l join push_run r on r.push_id = l.push_id join customer c on c.customer_id = l.customer_id \
         where r.partner_id = $1 order by r.push_id, l.line_id",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await?;
    let mut out = CsvBuilder::new(&[
        "push_id",
        "kind",
        "undo_of",
        "period",
        "started_at",
        "started_by",
        "customer_id",
        "customer_name",
        "product",
        "contract_id",
        "service_id",
        "before_units",
        "after_units",
        "unit_change",
        "unit_price",
        "amount",
        "outcome",
        "reason",
    ])?;
    for r in rows {
        let change: i64 = r.try_get("unit_change")?;
        let price: f64 = r.try_get("unit_price")?;
        out.row([
            Cell::number(Some(r.try_get::<i64, _>("push_id")?)),
            Cell::text(r.try_get::<String, _>("kind")?),
            Cell::number(r.try_get::<Option<i64>, _>("undo_of")?),
            Cell::text(r.try_get::<String, _>("period")?),
            Cell::text(app::format::iso_utc(r.try_get("started_at")?)),
            Cell::text(r.try_get::<String, _>("started_by")?),
            Cell::number(Some(r.try_get::<i64, _>("customer_id")?)),
            Cell::text(r.try_get::<String, _>("name")?),
            Cell::text(r.try_get::<String, _>("product")?),
            Cell::number(r.try_get::<Option<i64>, _>("contract_id")?),
            Cell::number(r.try_get::<Option<i64>, _>("service_id")?),
            Cell::number(r.try_get::<Option<i64>, _>("before_units")?),
            Cell::number(r.try_get::<Option<i64>, _>("after_units")?),
            Cell::number(Some(change)),
            Cell::number(Some(format!("{price:.2}"))),
            Cell::number(Some(format!("{:.2}", change as f64 * price))),
            Cell::text(r.try_get::<String, _>("outcome")?),
            Cell::text(r.try_get::<Option<String>, _>("reason")?.unwrap_or_default()),
        ])?;
    }
    Ok(out.finish()?)
}

/// `GET /exports/billing-history.csv` (signed-in users of the partner).
pub async fn export(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: Option<axum::Extension<app::types::CurrentUser>>,
) -> axum::response::Response {
    let Some(axum::Extension(user)) = user else {
        return crate::exports::sign_in_first("the billing history");
    };
    crate::exports::download("billing-history", history_csv(&state.db, user.partner_id).await)
}

/// Adjustments written at once: Autotask allows 3 concurrent calls per entity (the client
/// also holds to that), and a push of thousands of changes is bound by latency, not work.
const WRITE_THREADS: usize = 3;

async fn run(db: &Db, client: &AutotaskClient, partner_id: i64, push_id: i64, selection: &PushSelection) -> Result<PushResult, PushError> {
    use futures_util::stream::{self, StreamExt};
    // Fresh reads, right before writing.
    let fresh = preview(db, client, partner_id, selection.lines.as_deref()).await?;
    let today = format!("{}T00:00:00Z", &app::format::iso_utc(now_ms())[..10]);
    let mut out = PushResult { push_id, applied: 0, unchanged: 0, held: 0, failed: 0, lines: Vec::new() };
    // Lines are written side by side but recorded in preview order.
    let search = selection.search.as_deref().unwrap_or_default();
    let chosen = fresh.lines.into_iter().filter(|l| app::types::billing::line_matches_search(l, search));
    let mut written = stream::iter(chosen).map(|line| push_line(db, client, partner_id, &today, selection.hold_above, line)).buffered(WRITE_THREADS);
    while let Some(line) = written.next().await {
        if tally(&mut out, &line) {
            record_line(db, push_id, partner_id, &line).await?;
            out.lines.push(line);
        }
    }
    Ok(out)
}

/// Counts a finished line; false for one that needs no record (already up to date).
fn tally(out: &mut PushResult, line: &PushLine) -> bool {
    match line.status {
        LineStatus::Unchanged => out.unchanged += 1,
        LineStatus::Applied => out.applied += 1,
        LineStatus::Held => out.held += 1,
        LineStatus::Failed => out.failed += 1,
        LineStatus::Change | LineStatus::Skipped => {}
    }
    line.status != LineStatus::Unchanged
}

/// Writes one previewed line (unless it is held, skipped or already right).
async fn push_line(db: &Db, client: &AutotaskClient, partner_id: i64, today: &str, hold_above: Option<i64>, mut line: PushLine) -> PushLine {
    match line.status {
        LineStatus::Unchanged | LineStatus::Skipped => return line,
        _ if hold_above.is_some_and(|t| line.change.abs() > t) => {
            line.status = LineStatus::Held;
            line.reason = Some(format!("A change of {} units is above the approval threshold; approve it to write it.", line.change));
            return line;
        }
        _ => {}
    }
    let (contract_id, service_id) = (line.contract_id.unwrap_or_default(), line.service_id.unwrap_or_default());
    let body = serde_json::json!({"contractID": contract_id, "serviceID": service_id, "effectiveDate": today, "unitChange": line.change});
    match client.create("ContractServiceAdjustments", &body).await {
        Ok(_) => line.status = LineStatus::Applied,
        Err(e) => {
            // The answer may have been lost after Autotask wrote it: look again.
            let again = preview(db, client, partner_id, Some(&[(line.customer_id, line.product.clone())])).await;
            match again.ok().and_then(|p| p.lines.into_iter().next()) {
                Some(l) if l.status == LineStatus::Unchanged => line.status = LineStatus::Applied,
                _ => {
                    line.status = LineStatus::Failed;
                    line.reason = Some(format!("{e} Nothing was changed for this line; Sync again to retry."));
                }
            }
        }
    }
    line
}
