//! The partner's history: who did what, when. Written by every store that changes data.

use super::{now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::AuditEntry;

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

/// The partner's latest entries, newest first; `action` limits them to one kind.
pub async fn recent(db: &Db, partner_id: i64, action: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "select created_at, actor, summary from audit_event where partner_id = $1 and ($2 = '' or action = $2) \
         order by created_at desc, audit_id desc limit $3",
    )
    .bind(partner_id)
    .bind(action.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.pool)
    .await
    .internal()?;
    Ok(rows.into_iter().map(|(at, actor, summary)| AuditEntry { at, actor, summary }).collect())
}
