//! The home page figures for one partner.

use super::{audit, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::OverviewStore;
use app::types::history::RunKind;
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

    /// Open incidents, and how many of them have their ticket.
    async fn open_incidents(&self, partner_id: i64) -> Result<(i64, i64), sqlx::Error> {
        sqlx::query_as("select count(*) as n, count(ticket_id) as t from incident where partner_id = $1 and state = 'open'")
            .bind(partner_id)
            .fetch_one(&self.db.pool)
            .await
    }

    async fn count(&self, sql: &str, partner_id: i64) -> Result<i64, AppError> {
        sqlx::query_scalar(sql).bind(partner_id).fetch_one(&self.db.pool).await.internal()
    }
}

#[async_trait::async_trait]
impl OverviewStore for SqlOverview {
    async fn overview(&self, partner_id: i64) -> Result<Overview, AppError> {
        let map = super::map::counts(&self.db, partner_id).await.internal()?;
        let (open_incidents, open_tickets) = self.open_incidents(partner_id).await.internal()?;
        Ok(Overview {
            active_users: self.count("select count(*) as n from app_user where partner_id = $1 and disabled = 0", partner_id).await?,
            active_tokens: self.count("select count(*) as n from api_token where partner_id = $1 and revoked_at is null", partner_id).await?,
            dispatch: self.dispatch(partner_id).await.internal()?,
            recent: audit::recent(&self.db, partner_id, None, 10).await?,
            problem_runs: super::history::problems(&self.db, partner_id, 5).await.internal()?,
            unmapped_customers: map.customers - map.customers_matched,
            open_incidents,
            open_tickets,
            last_push: super::history::latest(&self.db, partner_id, RunKind::Push).await.internal()?,
            last_sync: super::history::latest(&self.db, partner_id, RunKind::Sync).await.internal()?,
        })
    }
}
