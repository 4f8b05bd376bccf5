//! The home page figures for one partner.

use super::{audit, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::OverviewStore;
use app::types::tickets::DispatchSummary;
use app::types::Overview;

/// `OverviewStore` over the database.
#[derive(Debug, Clone)]
pub struct SqlOverview {
    db: Db,
}

impl SqlOverview {
    /// A store on this database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn dispatch(&self, partner_id: i64) -> Result<DispatchSummary, sqlx::Error> {
        let health = super::dispatch::health(&self.db, partner_id).await?;
        Ok(DispatchSummary {
            pending: super::events::pending_count(&self.db, partner_id).await?,
            paused_since: health.paused_since(),
            problem: health.last_error,
            held: super::dispatch::holds(&self.db, partner_id).await?.len() as i64,
        })
    }

    async fn count(&self, sql: &str, partner_id: i64) -> Result<i64, AppError> {
        sqlx::query_scalar(sql).bind(partner_id).fetch_one(&self.db.pool).await.internal()
    }
}

#[async_trait::async_trait]
impl OverviewStore for SqlOverview {
    async fn overview(&self, partner_id: i64) -> Result<Overview, AppError> {
        Ok(Overview {
            active_users: self.count("select count(*) as n from app_user where partner_id = $1 and disabled = 0", partner_id).await?,
            active_tokens: self.count("select count(*) as n from api_token where partner_id = $1 and revoked_at is null", partner_id).await?,
            dispatch: self.dispatch(partner_id).await.internal()?,
            recent: audit::recent(&self.db, partner_id, None, 10).await?,
            problem_runs: super::history::problems(&self.db, partner_id, 5).await.internal()?,
        })
    }
}
