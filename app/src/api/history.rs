//! History: the partner's runs and their lines, settings changes, a customer's timeline and
//! how long it is all kept (every signed-in user of the partner reads; admins change).

use crate::error::AppError;
use crate::types::history::{ChangePage, ChangeQuery, RetryStarted, RunDetail, RunPage, RunQuery, Timeline};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// A page of runs, newest first.
#[server(prefix = "/rpc", endpoint = "list_runs", input = Json)]
pub async fn list_runs(query: RunQuery) -> Result<RunPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.history.runs(user.partner_id, query).await
}

/// One run with its lines.
#[server(prefix = "/rpc", endpoint = "get_run")]
pub async fn get_run(run_id: i64) -> Result<RunDetail, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.history.run(user.partner_id, run_id).await
}

/// "Retry failed": re-runs just the failed records of an import, a contact import, a
/// billing push, a sync round, a webhook delivery or ticket actions (the events Autotask
/// refused, sent back to the dispatcher), as a new run linked to the first
/// (admins: these are admin actions).
#[server(prefix = "/rpc", endpoint = "retry_run")]
pub async fn retry_run(run_id: i64) -> Result<RetryStarted, AppError> {
    use crate::types::billing::PushSelection;
    use crate::types::companies::ImportSelection;
    use crate::types::contacts::ContactSelection;
    use crate::types::history::RunKind;
    let admin = crate::auth::require_admin()?;
    let services = crate::services::services()?;
    let plan = services.history.retry_plan(admin.partner_id, run_id).await?;
    let retry_of = Some(plan.run_id);
    Ok(match plan.kind {
        RunKind::Import => RetryStarted {
            job: Some(services.companies.start_import(&admin, ImportSelection::Ids(plan.ids), retry_of).await?),
            push: None,
            requeued: None,
        },
        RunKind::ContactImport => RetryStarted {
            job: Some(services.contacts.start_import(&admin, ContactSelection::Ids(plan.ids), retry_of).await?),
            push: None,
            requeued: None,
        },
        RunKind::Sync | RunKind::Webhook => {
            RetryStarted { job: Some(services.sync.retry_companies(&admin, plan.ids, retry_of).await?), push: None, requeued: None }
        }
        RunKind::Tickets => {
            let requeued = services.tickets.retry_events(&admin, plan.ids, plan.run_id).await?;
            RetryStarted { job: None, push: None, requeued: Some(requeued) }
        }
        RunKind::Push => {
            let selection = PushSelection { lines: Some(plan.lines), ..Default::default() };
            RetryStarted { job: None, push: Some(services.billing.apply(&admin, selection, retry_of).await?), requeued: None }
        }
        other => return Err(AppError::Conflict(format!("A {} cannot be retried record by record.", other.label().to_lowercase()))),
    })
}

/// A page of settings changes, newest first.
#[server(prefix = "/rpc", endpoint = "list_changes", input = Json)]
pub async fn list_changes(query: ChangeQuery) -> Result<ChangePage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.history.changes(user.partner_id, query).await
}

/// A page of a customer's timeline.
#[server(prefix = "/rpc", endpoint = "customer_timeline")]
pub async fn customer_timeline(customer_id: i64, before: Option<i64>) -> Result<Timeline, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.history.timeline(user.partner_id, customer_id, before).await
}

/// How many days the partner keeps its history.
#[server(prefix = "/rpc", endpoint = "history_retention")]
pub async fn history_retention() -> Result<i64, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.history.retention_days(user.partner_id).await
}

/// Changes how long the partner keeps its history (admins).
#[server(prefix = "/rpc", endpoint = "save_history_retention")]
pub async fn save_history_retention(days: i64) -> Result<i64, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.history.set_retention_days(&admin, days).await
}

/// What Taskbridge spent of the partner's Autotask in the last `hours` (24, 168 or 720).
#[server(prefix = "/rpc", endpoint = "api_usage")]
pub async fn api_usage(hours: i64) -> Result<crate::types::history::ApiUsage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.history.api_usage(user.partner_id, hours).await
}
