//! Autotask companies in Taskbridge: discovery (`discovery.rs`, a background job), the
//! searchable list the Companies page pages through, and import as customers
//! (`import.rs`) under the seed's rules (`rules.rs`, pure functions).

mod discovery;
mod import;
pub mod rules;

use crate::db::companies as store;
use crate::db::Db;
use crate::error::SqlxResultExt;
use crate::services::connection::SqlAutotaskSettings;
use crate::workers::jobs::{Jobs, Progress};
use app::error::AppError;
use app::services::CompanyService;
use app::types::companies::{CompanyPage, CompanyQuery, ImportPlan, ImportSelection, JobKind, JobView, MAX_SELECTED_IDS};
use app::types::CurrentUser;
use std::sync::Arc;

/// `CompanyService` over the database and the partner's Autotask.
#[derive(Clone)]
pub struct SqlCompanies {
    db: Db,
    settings: SqlAutotaskSettings,
    jobs: Jobs,
}

impl SqlCompanies {
    /// Companies on this database, fetched through the partner's saved connection.
    pub fn new(db: Db, settings: SqlAutotaskSettings, jobs: Jobs) -> Self {
        Self { db, settings, jobs }
    }

    /// The ids a selection stands for, checked against what was discovered.
    async fn resolve(&self, partner_id: i64, selection: ImportSelection) -> Result<Vec<i64>, AppError> {
        match selection {
            ImportSelection::Matching(filter) => {
                let ids = store::ids_matching(&self.db, partner_id, &filter).await.internal()?;
                if ids.is_empty() {
                    return Err(AppError::invalid("selection", "No company matches this filter. Change the filter or run Discover."));
                }
                Ok(ids)
            }
            ImportSelection::Ids(mut ids) => {
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    return Err(AppError::invalid("selection", "Select at least one company to import."));
                }
                if ids.len() > MAX_SELECTED_IDS {
                    return Err(AppError::invalid(
                        "selection",
                        format!("Select at most {MAX_SELECTED_IDS} companies one by one, or use \u{201c}select all matching\u{201d}."),
                    ));
                }
                let known = store::discovered_ids(&self.db, partner_id, &ids).await.internal()?;
                if let Some(unknown) = ids.iter().find(|id| !known.contains(id)) {
                    return Err(AppError::invalid(
                        "selection",
                        format!("Company {unknown} has not been discovered. Run Discover, then select it again."),
                    ));
                }
                Ok(ids)
            }
        }
    }
}

#[async_trait::async_trait]
impl CompanyService for SqlCompanies {
    async fn list(&self, partner_id: i64, query: CompanyQuery) -> Result<CompanyPage, AppError> {
        let (rows, total, page, per_page) = store::page(&self.db, partner_id, &query).await.internal()?;
        let types = store::types(&self.db, partner_id).await.internal()?;
        let discovered = store::count(&self.db, partner_id).await.internal()?;
        let autotask_web_url = crate::db::connection::web_url(&self.db, partner_id).await.internal()?;
        Ok(CompanyPage {
            rows,
            total,
            discovered,
            page,
            per_page,
            types,
            discovered_at: self.jobs.last_success_at(partner_id, JobKind::Discover).await?,
            autotask_web_url,
        })
    }

    async fn start_discovery(&self, actor: &CurrentUser) -> Result<JobView, AppError> {
        // Refuse at once when there is nothing to connect with.
        self.settings.client(actor.partner_id).await?;
        let this = self.clone();
        let partner_id = actor.partner_id;
        self.jobs
            .spawn(partner_id, JobKind::Discover, &actor.email, "Starting", move |progress: Arc<Progress>| async move {
                this.discover(partner_id, &progress).await
            })
            .await
    }

    async fn start_import(&self, actor: &CurrentUser, selection: ImportSelection, retry_of: Option<i64>) -> Result<JobView, AppError> {
        let ids = self.resolve(actor.partner_id, selection).await?;
        let this = self.clone();
        let partner_id = actor.partner_id;
        let email = actor.email.clone();
        self.jobs
            .retrying(retry_of)
            .spawn(partner_id, JobKind::Import, &actor.email, "Importing", move |progress: Arc<Progress>| async move {
                this.import(partner_id, &email, &ids, &progress).await
            })
            .await
    }

    async fn plan_import(&self, partner_id: i64, selection: ImportSelection) -> Result<ImportPlan, AppError> {
        let ids = self.resolve(partner_id, selection).await?;
        self.plan_ids(partner_id, &ids).await.internal()
    }

    async fn job(&self, partner_id: i64, job_id: i64) -> Result<JobView, AppError> {
        self.jobs.get(partner_id, job_id).await
    }

    async fn latest_job(&self, partner_id: i64, kind: JobKind) -> Result<Option<JobView>, AppError> {
        self.jobs.latest(partner_id, kind).await
    }
}
