//! The partner's history: who did what, when. Written by every store that changes data.

use super::{now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::AuditEntry;
use sqlx::Row;

/// Records one entry. `actor` is an email, "api token NAME", or "system".
pub async fn record<'e, E>(executor: E, partner_id: i64, actor: &str, action: &str, summary: &str) -> Result<(), AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("insert into audit_event (partner_id, actor, action, summary, created_at) values ($1, $2, $3, $4, $5)")
        .bind(partner_id)
        .bind(actor)
        .bind(action)
        .bind(summary)
        .bind(now_ms())
        .execute(executor)
        .await
        .internal()?;
    Ok(())
}

/// The partner's latest entries, newest first.
pub async fn recent(db: &Db, partner_id: i64, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
    let rows =
        sqlx::query("select created_at, actor, summary from audit_event where partner_id = $1 order by created_at desc, audit_id desc limit $2")
            .bind(partner_id)
            .bind(limit)
            .fetch_all(&db.pool)
            .await
            .internal()?;
    rows.iter()
        .map(|r| Ok(AuditEntry { at: r.try_get("created_at")?, actor: r.try_get("actor")?, summary: r.try_get("summary")? }))
        .collect::<Result<_, sqlx::Error>>()
        .internal()
}
