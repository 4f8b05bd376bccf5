//! The partner's registered Autotask company webhook (`sync_webhook`): what Taskbridge
//! created in Autotask, the secret the callouts are signed with (sealed), and what
//! arrived since: callouts, bad signatures, a deactivation notice.

use crate::db::Db;

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Webhook {
    pub partner_id: i64,
    pub route_key: String,
    pub webhook_id: i64,
    pub webhook_guid: String,
    pub secret_sealed: String,
    pub url: String,
    pub registered_at: i64,
    pub registered_by: String,
    pub deactivated_at: Option<i64>,
    pub callouts: i64,
    pub last_callout_at: Option<i64>,
    pub bad_signatures: i64,
    pub last_bad_signature_at: Option<i64>,
}

const COLUMNS: &str = "partner_id, route_key, webhook_id, webhook_guid, secret_sealed, url, registered_at, registered_by, deactivated_at, \
     callouts, last_callout_at, bad_signatures, last_bad_signature_at";

/// The partner's webhook, if one is registered.
pub async fn get(db: &Db, partner_id: i64) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as(&format!("select {COLUMNS} from sync_webhook where partner_id = $1")).bind(partner_id).fetch_optional(&db.pool).await
}

/// The webhook a callout URL names.
pub async fn by_route(db: &Db, route_key: &str) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as(&format!("select {COLUMNS} from sync_webhook where route_key = $1")).bind(route_key).fetch_optional(&db.pool).await
}

/// Records a newly registered webhook (replacing an earlier one of the partner).
pub async fn save(db: &Db, w: &Webhook) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("delete from sync_webhook where partner_id = $1").bind(w.partner_id).execute(&mut *tx).await?;
    sqlx::query(
        "insert into sync_webhook (partner_id, route_key, webhook_id, webhook_guid, secret_sealed, url, registered_at, registered_by) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(w.partner_id)
    .bind(&w.route_key)
    .bind(w.webhook_id)
    .bind(&w.webhook_guid)
    .bind(&w.secret_sealed)
    .bind(&w.url)
    .bind(w.registered_at)
    .bind(&w.registered_by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Forgets the partner's webhook.
pub async fn remove(db: &Db, partner_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from sync_webhook where partner_id = $1").bind(partner_id).execute(&db.pool).await.map(|_| ())
}

/// Autotask switched the webhook off.
pub async fn deactivated(db: &Db, route_key: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update sync_webhook set deactivated_at = $2 where route_key = $1").bind(route_key).bind(now).execute(&db.pool).await.map(|_| ())
}

/// A callout whose signature did not verify.
pub async fn bad_signature(db: &Db, route_key: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update sync_webhook set bad_signatures = bad_signatures + 1, last_bad_signature_at = $2 where route_key = $1")
        .bind(route_key)
        .bind(now)
        .execute(&db.pool)
        .await
        .map(|_| ())
}
