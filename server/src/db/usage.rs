//! Usage reports (the current quantity per customer, product and billing month) as the
//! machine API stores them.

use sqlx::{Any, Transaction};

/// A stored report's quantity and when it was measured.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct StoredUsage {
    /// The quantity.
    pub quantity: f64,
    /// When it was measured (Unix ms).
    pub measured_at: i64,
}

/// One report, checked.
#[derive(Debug, Clone, Copy)]
pub struct Usage<'a> {
    /// The customer.
    pub customer_id: i64,
    /// Product code.
    pub product: &'a str,
    /// Billing month, `YYYY-MM`.
    pub period: &'a str,
    /// The quantity.
    pub quantity: f64,
    /// When it was measured (Unix ms).
    pub measured_at: i64,
}

/// The stored report for this customer, product and month, if any.
pub async fn stored(tx: &mut Transaction<'static, Any>, u: &Usage<'_>) -> Result<Option<StoredUsage>, sqlx::Error> {
    sqlx::query_as("select quantity, measured_at from usage_report where customer_id = $1 and product = $2 and period = $3")
        .bind(u.customer_id)
        .bind(u.product)
        .bind(u.period)
        .fetch_optional(&mut **tx)
        .await
}

/// Replaces the stored quantity.
pub async fn update(tx: &mut Transaction<'static, Any>, u: &Usage<'_>, received_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update usage_report set quantity = $1, measured_at = $2, received_at = $3 where customer_id = $4 and product = $5 and period = $6")
        .bind(u.quantity)
        .bind(u.measured_at)
        .bind(received_at)
        .bind(u.customer_id)
        .bind(u.product)
        .bind(u.period)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Stores a first report.
pub async fn insert(tx: &mut Transaction<'static, Any>, partner_id: i64, u: &Usage<'_>, received_at: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into usage_report (partner_id, customer_id, product, period, quantity, measured_at, received_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(partner_id)
    .bind(u.customer_id)
    .bind(u.product)
    .bind(u.period)
    .bind(u.quantity)
    .bind(u.measured_at)
    .bind(received_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
