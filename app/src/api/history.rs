//! History: the partner's runs and their lines (every signed-in user of the partner).

use crate::error::AppError;
use crate::types::history::{RetryStarted, RunDetail, RunPage, RunQuery};
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

/// "Retry failed": re-runs just the failed records of an import, a contact import or a
/// billing push, as a new run linked to the first (admins: these are admin actions).
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
        RunKind::Import => {
            RetryStarted { job: Some(services.companies.start_import(&admin, ImportSelection::Ids(plan.ids), retry_of).await?), push: None }
        }
        RunKind::ContactImport => {
            RetryStarted { job: Some(services.contacts.start_import(&admin, ContactSelection::Ids(plan.ids), retry_of).await?), push: None }
        }
        RunKind::Push => {
            let selection = PushSelection { lines: Some(plan.lines), hold_above: None, search: None };
            RetryStarted { job: None, push: Some(services.billing.apply(&admin, selection, retry_of).await?) }
        }
        other => return Err(AppError::Conflict(format!("A {} cannot be retried record by record.", other.label().to_lowercase()))),
    })
}
