//! The Companies page: discover Autotask companies, list them, import them as customers.

use crate::error::AppError;
use crate::types::companies::{CompanyPage, CompanyQuery, ImportPlan, ImportSelection, JobView};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// A page of the discovered companies (everyone in the partner may look).
#[server(prefix = "/rpc", endpoint = "list_companies", input = Json)]
pub async fn list_companies(query: CompanyQuery) -> Result<CompanyPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.companies.list(user.partner_id, query).await
}

/// Starts a discovery (admins: it spends the partner's Autotask API budget).
#[server(prefix = "/rpc", endpoint = "start_discovery")]
pub async fn start_discovery() -> Result<JobView, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.companies.start_discovery(&admin).await
}

/// Starts importing the selected companies as customers.
#[server(prefix = "/rpc", endpoint = "import_companies", input = Json)]
pub async fn import_companies(selection: ImportSelection) -> Result<JobView, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.companies.start_import(&admin, selection, None).await
}

/// What importing the selection would do, for the confirmation (admins, who import).
#[server(prefix = "/rpc", endpoint = "plan_import", input = Json)]
pub async fn plan_import(selection: ImportSelection) -> Result<ImportPlan, AppError> {
    let admin = crate::auth::require_admin()?;
    crate::services::services()?.companies.plan_import(admin.partner_id, selection).await
}

/// One job, for its progress.
#[server(prefix = "/rpc", endpoint = "get_job")]
pub async fn get_job(job_id: i64) -> Result<JobView, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.companies.job(user.partner_id, job_id).await
}

/// The latest discovery and import, so a revisited page shows work in progress.
#[server(prefix = "/rpc", endpoint = "latest_company_jobs")]
pub async fn latest_company_jobs() -> Result<(Option<JobView>, Option<JobView>), AppError> {
    let user = crate::auth::require_user()?;
    let companies = crate::services::services()?.companies;
    Ok((
        companies.latest_job(user.partner_id, crate::types::companies::JobKind::Discover).await?,
        companies.latest_job(user.partner_id, crate::types::companies::JobKind::Import).await?,
    ))
}
