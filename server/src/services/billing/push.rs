//! The billing push: for each mapped customer with a billing contract, the quantity
//! Autotask bills for each mapped product is read and, where Taskbridge's differs, a
//! contract service adjustment writes the difference. Reads are batched (`in` lists of
//! up to 500); no call is made for an unchanged quantity.
//!
//! Adjustments cannot be queried or deleted in Autotask, so a push never trusts what it
//! recorded: it re-reads the billed units right before writing. A crash between writing
//! an adjustment and recording it, or an answer lost on the way back, leaves Autotask
//! already right, and the next push finds nothing to change.
//!
//! Each line is priced by `pricing.rs`; `undo.rs` reverses a push, `history.rs` lists them.

use super::pricing::{price_line, Billed, Mapping};
use crate::autotask::entities::{Contract, ContractService, ContractServiceUnit, Service, ServiceBundleService};
use crate::autotask::query::in_batches;
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::db::billing as store;
use crate::db::{now_ms, Db};
use crate::services::history::{Finished, History};
use app::types::billing::{LineStatus, PushLine, PushPreview, PushResult, PushSelection};
use app::types::history::{RunKind, RunLine};
use app::types::money::Money;
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
pub(super) async fn read_in<T: crate::autotask::entities::Entity>(
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

pub(super) async fn read_billed(client: &AutotaskClient, contract_ids: &[i64], service_ids: &[i64], now: i64) -> Result<Billed, AutotaskError> {
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
        prices: list.into_iter().map(|s| (s.id, Money::from_f64(s.unit_price.unwrap_or_default()))).collect(),
    })
}

/// The preview: every (customer, product) with usage this period, what Autotask bills,
/// what Taskbridge would bill, and why a line cannot be pushed.
pub async fn preview(db: &Db, client: &AutotaskClient, partner_id: i64, only: Option<&[(i64, String)]>) -> Result<PushPreview, PushError> {
    let now = now_ms();
    let period = current_period(now);
    let mappings: HashMap<String, Mapping> = store::mappings(db, partner_id)
        .await?
        .into_iter()
        .map(|r| r.mapping())
        .filter_map(|m| Some((m.product, Mapping { service_id: m.service_id?, rounding: m.rounding, unit_size: m.unit_size })))
        .collect();
    let usage: Vec<store::MonthUsage> = store::month_usage(db, partner_id, &period)
        .await?
        .into_iter()
        .filter(|u| only.is_none_or(|o| o.iter().any(|(c, p)| *c == u.customer_id && *p == u.product)))
        .collect();
    let allow_add = crate::db::billing_schedule::get(db, partner_id).await?.allow_add_service;
    let contract_ids: Vec<i64> =
        usage.iter().filter(|u| mappings.contains_key(&u.product)).filter_map(|u| u.contract_id).collect::<HashSet<_>>().into_iter().collect();
    let service_ids: Vec<i64> = mappings.values().map(|m| m.service_id).collect::<HashSet<_>>().into_iter().collect();
    let billed = if contract_ids.is_empty() { Billed::default() } else { read_billed(client, &contract_ids, &service_ids, now).await? };
    let lines: Vec<PushLine> = usage.iter().map(|u| price_line(u, mappings.get(&u.product), &billed, allow_add)).collect();
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
        ..PushPreview::default()
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
/// `retry_of`: the History's run whose failed lines these are.
pub async fn apply(
    db: &Db,
    client: &AutotaskClient,
    partner_id: i64,
    actor: &str,
    selection: &PushSelection,
    retry_of: Option<i64>,
) -> Result<PushResult, PushError> {
    let mut started = start_run(db, partner_id, actor, RunKind::Push, None).await?;
    started.retry_of = retry_of;
    let span = tracing::info_span!("push", push_id = started.push_id, partner_id);
    let result = tracing::Instrument::instrument(run(db, client, partner_id, started.push_id, selection), span).await;
    finish_run(db, &started, &result).await?;
    result
}

/// A push run that started (what its end needs to record it).
pub(super) struct Started<'a> {
    /// The push's id.
    pub push_id: i64,
    partner_id: i64,
    actor: &'a str,
    kind: RunKind,
    at: i64,
    retry_of: Option<i64>,
}

/// Starts a run (a push or an undo), or says another is going.
pub(super) async fn start_run<'a>(db: &Db, partner_id: i64, actor: &'a str, kind: RunKind, undo_of: Option<i64>) -> Result<Started<'a>, PushError> {
    let at = now_ms();
    let stored = if kind == RunKind::Undo { "undo" } else { "apply" };
    let push_id = store::start_run(db, partner_id, &current_period(at), stored, actor, undo_of, at).await?.ok_or(PushError::Busy)?;
    Ok(Started { push_id, partner_id, actor, kind, at, retry_of: None })
}

/// Ends a run with the summary of its result, and records it in the History with each
/// line that failed, was held or was skipped.
pub(super) async fn finish_run(db: &Db, run: &Started<'_>, result: &Result<PushResult, PushError>) -> Result<(), PushError> {
    let (state, summary) = match result {
        Ok(r) => ("done", format!("{} applied, {} unchanged, {} held, {} failed", r.applied, r.unchanged, r.held, r.failed)),
        Err(e) => ("failed", e.to_string()),
    };
    store::finish_run(db, run.push_id, state, &summary, now_ms()).await?;
    let lines: Vec<RunLine> = result.as_ref().map(|r| r.lines.iter().filter_map(history_line).collect()).unwrap_or_default();
    let (done, failed) = result.as_ref().map(|r| (r.applied + r.unchanged, r.failed)).unwrap_or_default();
    let skipped = lines.iter().filter(|l| !l.is_failed()).count();
    let summary = match skipped - result.as_ref().map_or(0, |r| r.held) {
        0 => summary,
        n => format!("{summary}, {n} skipped"),
    };
    let label = if run.kind == RunKind::Undo { "Undo" } else { "Push" };
    let finished = Finished {
        kind: run.kind,
        started_by: run.actor,
        started_at: run.at,
        stopped: result.is_err(),
        done: done as i64,
        skipped: skipped as i64,
        failed: failed as i64,
        summary: &format!("{label} {}: {summary}.", run.push_id),
        retry_of: run.retry_of,
        log_key: &format!("push_id={}", run.push_id),
    };
    History::new(db.clone()).record(run.partner_id, finished, &lines).await;
    Ok(())
}

/// A push line as the History keeps it: only what did not go through, with why.
fn history_line(line: &PushLine) -> Option<RunLine> {
    let record = match (line.contract_id, line.service_id) {
        (Some(c), Some(s)) => format!("{}: contract {c}, service {s}", line.product),
        (Some(c), None) => format!("{}: contract {c}", line.product),
        _ => line.product.clone(),
    };
    let reason = line.reason.clone().unwrap_or_default();
    let name = line.customer_name.clone();
    let out = match line.status {
        LineStatus::Failed => RunLine::failed(Some(line.customer_id), name, record, reason),
        LineStatus::Held | LineStatus::Skipped => RunLine::skipped(Some(line.customer_id), name, record, reason),
        LineStatus::Applied | LineStatus::Unchanged | LineStatus::Change => return None,
    };
    Some(out.for_retry(line.customer_id, line.product.clone()))
}

/// Adjustments written at once: Autotask allows 3 concurrent calls per entity (the client
/// also holds to that), and a push of thousands of changes is bound by latency, not work.
pub(super) const WRITE_THREADS: usize = 3;

async fn run(db: &Db, client: &AutotaskClient, partner_id: i64, push_id: i64, selection: &PushSelection) -> Result<PushResult, PushError> {
    use futures_util::stream::{self, StreamExt};
    // Fresh reads, right before writing.
    let fresh = preview(db, client, partner_id, selection.lines.as_deref()).await?;
    let today = format!("{}T00:00:00Z", &app::format::iso_utc(now_ms())[..10]);
    let mut out = PushResult { push_id, applied: 0, unchanged: 0, held: 0, failed: 0, lines: Vec::new() };
    // Lines are written side by side but recorded in preview order.
    let search = selection.search.as_deref().unwrap_or_default();
    // Approving what a threshold holds writes only the changes above it, unheld.
    let (hold_above, approving) = if selection.held_only { (None, selection.hold_above) } else { (selection.hold_above, None) };
    let chosen = fresh
        .lines
        .into_iter()
        .filter(|l| app::types::billing::line_matches_search(l, search))
        .filter(|l| approving.is_none() || app::types::billing::is_held(l, approving));
    let mut written = stream::iter(chosen).map(|line| push_line(db, client, partner_id, &today, hold_above, line)).buffered(WRITE_THREADS);
    while let Some(line) = written.next().await {
        if tally(&mut out, &line) {
            store::record_line(db, push_id, partner_id, &line, now_ms()).await?;
            out.lines.push(line);
        }
    }
    Ok(out)
}

/// Counts a finished line; false for one that needs no record (already up to date).
pub(super) fn tally(out: &mut PushResult, line: &PushLine) -> bool {
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
        _ if app::types::billing::is_held(&line, hold_above) => {
            line.status = LineStatus::Held;
            let threshold = app::format::thousands(hold_above.unwrap_or_default());
            line.reason = Some(format!(
                "A change of {} units is above the approval threshold of {threshold}; approve it on the Billing page to write it.",
                app::format::signed_thousands(line.change)
            ));
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
