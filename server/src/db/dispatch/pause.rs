//! Whether a partner's dispatch may go on: the partners with work, the pause after
//! Autotask failures, with why (`dispatch_pause`), and the customers held back on
//! their own (`dispatch_hold`) while the partner's others go through.

use crate::db::Db;

/// Partners with pending events or notes due that are free for `holder` (of customers
/// neither held back nor claimed by another instance), and not paused.
pub async fn partners_with_work(db: &Db, holder: &str, now: i64) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!(
        "select p.partner_id from partner p where (exists (select 1 from event e where e.partner_id = p.partner_id and e.dispatch_state = 'pending' \
             and {}) \
           or exists (select 1 from incident i where i.partner_id = p.partner_id and i.note_due_at <= $1 and i.state = 'open' \
             and {})) \
         and not exists (select 1 from dispatch_pause l where l.partner_id = p.partner_id and l.retry_at > $1)",
        super::free_for("e", 1, 2),
        super::free_for("i", 1, 2)
    );
    sqlx::query_scalar(&sql).bind(now).bind(holder).fetch_all(&db.pool).await
}

/// Ends the partner's pause after a round that went well.
pub async fn clear_pause(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update dispatch_pause set retry_at = null, last_error = null where partner_id = $1 and (retry_at is not null or last_error is not null)",
    )
    .bind(partner_id)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// Pauses the partner until `retry_at`, saying why. The pause's start (`last_error_at`)
/// is kept while failures follow one another.
pub async fn pause(db: &Db, partner_id: i64, retry_at: i64, error: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into dispatch_pause (partner_id, retry_at, last_error, last_error_at) values ($1, $2, $3, $4) \
         on conflict (partner_id) do update set retry_at = excluded.retry_at, last_error = excluded.last_error, \
         last_error_at = case when dispatch_pause.last_error is null or dispatch_pause.last_error_at is null then excluded.last_error_at \
         else dispatch_pause.last_error_at end",
    )
    .bind(partner_id)
    .bind(retry_at)
    .bind(error)
    .bind(now)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// Ends the partner's pause, and its customers', at once (after its settings or rules change).
pub async fn resume(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update dispatch_pause set retry_at = null where partner_id = $1").bind(partner_id).execute(&db.pool).await?;
    sqlx::query("delete from dispatch_hold where partner_id = $1").bind(partner_id).execute(&db.pool).await.map(|_| ())
}

/// Ends an outage's pause early: Autotask answers again (the customers held back keep
/// their own backoff).
pub async fn end_pause(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update dispatch_pause set retry_at = null where partner_id = $1 and retry_at is not null")
        .bind(partner_id)
        .execute(&db.pool)
        .await
        .map(|_| ())
}

/// The partner's pause, when it is paused or its last round failed.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Health {
    /// The next try.
    pub retry_at: Option<i64>,
    /// Why.
    pub last_error: Option<String>,
    /// Since when rounds have been failing.
    pub last_error_at: Option<i64>,
}

impl Health {
    /// Since when dispatch has been paused, while it is.
    pub fn paused_since(&self) -> Option<i64> {
        self.last_error.as_ref().and(self.last_error_at)
    }
}

/// The partner's pause, if any.
pub async fn health(db: &Db, partner_id: i64) -> Result<Health, sqlx::Error> {
    let row: Option<Health> = sqlx::query_as("select retry_at, last_error, last_error_at from dispatch_pause where partner_id = $1")
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.unwrap_or_default())
}

/// The SQL condition that a row (alias `alias`, with `partner_id` and `customer_id`)
/// belongs to no customer held back at the time bound to `$now_param`: one definition
/// for every read of the dispatcher's work.
pub fn not_held(alias: &str, now_param: u8) -> String {
    format!(
        "not exists (select 1 from dispatch_hold h where h.partner_id = {alias}.partner_id and h.customer_id = {alias}.customer_id and h.retry_at > ${now_param})"
    )
}

/// A customer held back after its work failed `failures` times in a row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Hold {
    pub customer_id: i64,
    pub customer_name: String,
    pub retry_at: i64,
    pub failures: i64,
    pub last_error: String,
    pub since: i64,
}

/// The partner's held-back customers.
pub async fn holds(db: &Db, partner_id: i64) -> Result<Vec<Hold>, sqlx::Error> {
    sqlx::query_as(
        "select h.customer_id, coalesce(c.name, '') as customer_name, h.retry_at, h.failures, h.last_error, h.since from dispatch_hold h \
         left join customer c on c.customer_id = h.customer_id and c.partner_id = h.partner_id where h.partner_id = $1 order by h.since",
    )
    .bind(partner_id)
    .fetch_all(&db.pool)
    .await
}

/// Holds a customer back until `retry_at` (`failures` counts this failure too).
pub async fn hold(db: &Db, partner_id: i64, customer_id: i64, failures: i64, retry_at: i64, error: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into dispatch_hold (partner_id, customer_id, retry_at, failures, last_error, since) values ($1, $2, $3, $4, $5, $6) \
         on conflict (partner_id, customer_id) do update set retry_at = excluded.retry_at, failures = excluded.failures, last_error = excluded.last_error",
    )
    .bind(partner_id)
    .bind(customer_id)
    .bind(retry_at)
    .bind(failures)
    .bind(error)
    .bind(now)
    .execute(&db.pool)
    .await
    .map(|_| ())
}

/// Lets held customers go again once their work went through (or their settings changed).
pub async fn release_holds(db: &Db, partner_id: i64, customers: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in customers.chunks(400) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sqlx::query(&format!("delete from dispatch_hold where partner_id = $1 and customer_id in ({list})"))
            .bind(partner_id)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}
