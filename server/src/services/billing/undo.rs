//! Undoing a push: for every line it applied whose quantity Autotask still bills, the
//! opposite adjustment is written. A line changed since is left alone, with the reason.

use super::push::{finish_run, start_run, tally, PushError, WRITE_THREADS};
use crate::autotask::entities::ContractServiceUnit;
use crate::autotask::{AutotaskClient, AutotaskError, Filter, Query};
use crate::db::billing as store;
use crate::db::{now_ms, Db};
use app::types::billing::{LineStatus, PushLine, PushResult};
use app::types::history::RunKind;
use app::types::money::Money;

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

/// Undoes a push: for every line it applied whose quantity Autotask still bills, writes
/// the opposite adjustment. A line changed since is left alone, with the reason.
pub async fn undo(db: &Db, client: &AutotaskClient, partner_id: i64, actor: &str, push_id: i64) -> Result<PushResult, PushError> {
    let Some(kind) = store::run_kind(db, partner_id, push_id).await? else { return Err(PushError::Refused("There is no such push.".into())) };
    if kind != "apply" {
        return Err(PushError::Refused("An undo cannot be undone; push again instead.".into()));
    }
    if let Some(by) = store::undone_by(db, push_id).await? {
        return Err(PushError::Refused(format!("Push {push_id} was already undone by push {by}.")));
    }
    let started = start_run(db, partner_id, actor, RunKind::Undo, Some(push_id)).await?;
    let span = tracing::info_span!("push", push_id = started.push_id, partner_id, undo_of = push_id);
    let result = tracing::Instrument::instrument(undo_lines(db, client, partner_id, push_id, started.push_id), span).await;
    finish_run(db, &started, &result).await?;
    result
}

async fn undo_lines(db: &Db, client: &AutotaskClient, partner_id: i64, push_id: i64, undo_id: i64) -> Result<PushResult, PushError> {
    use futures_util::stream::{self, StreamExt};
    let pushed: Vec<Pushed> = store::applied_lines(db, push_id)
        .await?
        .into_iter()
        .map(|r| Pushed {
            after: r.after_units,
            line: PushLine {
                customer_id: r.customer_id,
                customer_name: r.name,
                product: r.product,
                contract_id: Some(r.contract_id.unwrap_or_default()),
                service_id: Some(r.service_id.unwrap_or_default()),
                autotask_units: None,
                quantity: None,
                taskbridge_units: r.before_units,
                change: -r.unit_change,
                unit_price: Money::from_f64(r.unit_price),
                money: -Money::from_f64(r.unit_price).times(r.unit_change),
                status: LineStatus::Skipped,
                reason: None,
            },
        })
        .collect();
    let today = format!("{}T00:00:00Z", &app::format::iso_utc(now_ms())[..10]);
    let mut out = PushResult { push_id: undo_id, applied: 0, unchanged: 0, held: 0, failed: 0, lines: Vec::new() };
    let mut undone = stream::iter(pushed).map(|p| undo_line(client, &today, p)).buffered(WRITE_THREADS);
    while let Some(line) = undone.next().await {
        tally(&mut out, &line);
        store::record_line(db, undo_id, partner_id, &line, now_ms()).await?;
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
