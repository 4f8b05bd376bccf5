//! The sync's settings and rounds (`sync_settings`): what is switched on, the high-water
//! marks, and the due round claimed with one conditional write so that, with several
//! instances, one runs each. The followed companies and contracts are in `clients.rs`.

pub mod callouts;
pub mod clients;
pub mod webhooks;

use super::Db;
use app::types::sync::{RoundOutcome, SyncSettings, SyncSettingsInput};
use app::types::CurrentUser;

#[derive(Debug, sqlx::FromRow)]
struct Row {
    customers_on: i64,
    contracts_on: i64,
    every_minutes: i64,
    companies_mark: Option<String>,
    contracts_mark: Option<String>,
    next_round_at: Option<i64>,
    last_round_at: Option<i64>,
    last_outcome: Option<String>,
    last_message: Option<String>,
}

/// The stored settings with the marks a round reads from.
#[derive(Debug, Clone)]
pub struct Stored {
    /// As shown.
    pub settings: SyncSettings,
    /// Newest company change applied (Autotask's time), if any.
    pub companies_mark: Option<String>,
    /// Newest contract change applied.
    pub contracts_mark: Option<String>,
}

/// The partner's settings (defaults: both off, every 5 minutes).
pub async fn get(db: &Db, partner_id: i64) -> Result<Stored, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "select customers_on, contracts_on, every_minutes, companies_mark, contracts_mark, next_round_at, last_round_at, last_outcome, last_message \
         from sync_settings where partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => Stored {
            settings: SyncSettings {
                input: SyncSettingsInput { customers: r.customers_on != 0, contracts: r.contracts_on != 0, every_minutes: r.every_minutes },
                last_round_at: r.last_round_at,
                last_outcome: r.last_outcome.as_deref().and_then(RoundOutcome::parse),
                last_message: r.last_message,
                next_round_at: r.next_round_at,
            },
            companies_mark: r.companies_mark,
            contracts_mark: r.contracts_mark,
        },
        None => Stored {
            settings: SyncSettings {
                input: SyncSettingsInput { customers: false, contracts: false, every_minutes: 5 },
                last_round_at: None,
                last_outcome: None,
                last_message: None,
                next_round_at: None,
            },
            companies_mark: None,
            contracts_mark: None,
        },
    })
}

/// Saves the settings. A type switched on again forgets its mark (what changed while it
/// was off is read in full), and the next round is due at once.
pub async fn save(db: &Db, actor: &CurrentUser, input: &SyncSettingsInput, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into sync_settings (partner_id, customers_on, contracts_on, every_minutes, next_round_at, updated_at, updated_by) \
         values ($1, $2, $3, $4, null, $5, $6) on conflict (partner_id) do update set \
         companies_mark = case when sync_settings.customers_on = 0 and sync_settings.contracts_on = 0 then null else sync_settings.companies_mark end, \
         contracts_mark = case when sync_settings.contracts_on = 0 then null else sync_settings.contracts_mark end, \
         next_round_at = case when (excluded.customers_on > sync_settings.customers_on or excluded.contracts_on > sync_settings.contracts_on) then null \
            else sync_settings.next_round_at end, \
         customers_on = excluded.customers_on, contracts_on = excluded.contracts_on, every_minutes = excluded.every_minutes, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(actor.partner_id)
    .bind(i64::from(input.customers))
    .bind(i64::from(input.contracts))
    .bind(input.every_minutes)
    .bind(now)
    .bind(&actor.email)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// Partners with a sync type on whose round is due at `now`, with their interval (minutes).
pub async fn due_partners(db: &Db, now: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select partner_id, every_minutes from sync_settings where (customers_on = 1 or contracts_on = 1) and (next_round_at is null or next_round_at <= $1)",
    )
    .bind(now)
    .fetch_all(&db.pool)
    .await
}

/// Claims the partner's round if it is due at `now`, moving the next one to `next`;
/// false when it is not due or another instance claimed it first.
pub async fn claim(db: &Db, partner_id: i64, next: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update sync_settings set next_round_at = $2 where partner_id = $1 and (next_round_at is null or next_round_at <= $3)")
        .bind(partner_id)
        .bind(next)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records how a round ended, and the marks it reached (`None` leaves a mark as it is;
/// the caller only ever moves one forward); the next round is due an interval after this one.
pub async fn finish_round(
    db: &Db,
    partner_id: i64,
    outcome: RoundOutcome,
    message: &str,
    marks: (Option<&str>, Option<&str>),
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update sync_settings set last_round_at = $2, last_outcome = $3, last_message = $4, \
         companies_mark = coalesce($5, companies_mark), contracts_mark = coalesce($6, contracts_mark), \
         next_round_at = $2 + every_minutes * 60000 where partner_id = $1",
    )
    .bind(partner_id)
    .bind(now)
    .bind(outcome.as_str())
    .bind(message)
    .bind(marks.0)
    .bind(marks.1)
    .execute(&db.pool)
    .await
    .map(|_| ())
}
