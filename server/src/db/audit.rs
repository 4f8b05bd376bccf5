//! The partner's settings changes and sign-ins: who did what, when, and for a change the
//! values before and after. Written by every store that changes settings; read by the
//! Overview's activity list, the Customer Map's history and the History's changes.

use super::dynamic::{bind_all_as, like_escape, Arg, Keyset};
use super::{now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::types::history::{ChangeArea, ChangeEntry, SettingChange};
use app::types::AuditEntry;

/// Records one entry without values. `actor` is an email, "api token NAME", or "system".
pub async fn record<'e, E>(executor: E, partner_id: i64, actor: &str, action: &str, summary: &str) -> Result<(), AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    record_change(executor, partner_id, actor, action, summary, &Change::default()).await
}

/// What a change was about beyond its summary.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    /// The customer it concerns (shown on that customer's timeline).
    pub customer_id: Option<i64>,
    /// Each setting with its value before and after.
    pub changes: &'a [SettingChange],
}

/// What changed between two versions of a setting (`&()` for none: created or deleted),
/// field by field, read off their serialised form.
pub fn values<A: serde::Serialize, B: serde::Serialize>(before: &A, after: &B) -> Vec<SettingChange> {
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or_default();
    app::types::history::diff(&json(serde_json::to_value(before)), &json(serde_json::to_value(after)))
}

/// Records one change with its values.
pub async fn record_change<'e, E>(executor: E, partner_id: i64, actor: &str, action: &str, summary: &str, change: &Change<'_>) -> Result<(), AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let changes = if change.changes.is_empty() { String::new() } else { serde_json::to_string(change.changes).unwrap_or_default() };
    sqlx::query("insert into audit_event (partner_id, actor, action, summary, created_at, changes, customer_id) values ($1, $2, $3, $4, $5, $6, $7)")
        .bind(partner_id)
        .bind(actor)
        .bind(action)
        .bind(summary)
        .bind(now_ms())
        .bind(changes)
        .bind(change.customer_id)
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

/// What to list, already checked (dates as milliseconds).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One area.
    pub area: Option<ChangeArea>,
    /// Changes about this customer.
    pub customer_id: Option<i64>,
    /// At or after.
    pub from_ms: Option<i64>,
    /// Before.
    pub until_ms: Option<i64>,
    /// Lower-case words.
    pub search: String,
    /// Older than this change.
    pub before: Option<i64>,
    /// Newer than this change.
    pub after: Option<i64>,
}

/// Up to `limit` changes of the partner, newest first (with `after`: the `limit` just
/// newer than it, still newest first).
pub async fn list(db: &Db, partner_id: i64, f: &Filter, limit: i64) -> Result<Vec<ChangeEntry>, sqlx::Error> {
    let mut q = Keyset::new(
        "select audit_id, created_at, actor, action, summary, customer_id, changes from audit_event a where a.partner_id = $1",
        partner_id,
    );
    q.and("a.created_at >= ?", f.from_ms.map(Arg::Int))
        .and("a.created_at < ?", f.until_ms.map(Arg::Int))
        .and("a.audit_id < ?", f.before.map(Arg::Int))
        .and("a.audit_id > ?", f.after.map(Arg::Int))
        .and("a.customer_id = ?", f.customer_id.map(Arg::Int));
    if let Some(area) = f.area {
        // "Other" is every action no area claims.
        let known: Vec<&str> = ChangeArea::ALL.iter().flat_map(|a| a.prefixes().iter().copied()).collect();
        let (list, each, join) = if area == ChangeArea::Other {
            (known, "a.action not like {} escape '\\'", " and ")
        } else {
            (area.prefixes().to_vec(), "a.action like {} escape '\\'", " or ")
        };
        q.and_any(each, join, list.iter().map(|p| Arg::Text(format!("{}%", like_escape(p)))).collect());
    }
    let words = (!f.search.is_empty()).then(|| Arg::Text(format!("%{}%", like_escape(&f.search))));
    q.and("(lower(a.summary) like ? escape '\\' or lower(a.actor) like ? escape '\\' or lower(a.changes) like ? escape '\\')", words);
    let newer = f.after.is_some() && f.before.is_none();
    let (sql, args) = q.finish("a.audit_id", newer, limit);
    type Row = (i64, i64, String, String, String, Option<i64>, String);
    let rows: Vec<Row> = bind_all_as(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?;
    let mut out: Vec<ChangeEntry> = rows
        .into_iter()
        .map(|(change_id, at, actor, action, summary, customer_id, changes)| ChangeEntry {
            change_id,
            at,
            actor,
            area: ChangeArea::of_action(&action),
            summary,
            customer_id,
            changes: if changes.is_empty() { Vec::new() } else { serde_json::from_str(&changes).unwrap_or_default() },
        })
        .collect();
    if newer {
        out.reverse();
    }
    Ok(out)
}
