//! The push history: recent runs, a run's lines, and every line as CSV.

use crate::db::billing as store;
use crate::db::Db;
use crate::exports::{Cell, CsvBuilder};
use app::types::billing::{PushLine, PushRun};

/// Recent pushes, newest first.
pub async fn history(db: &Db, partner_id: i64) -> Result<Vec<PushRun>, sqlx::Error> {
    store::runs(db, partner_id).await
}

/// The lines of a push of the partner.
pub async fn lines(db: &Db, partner_id: i64, push_id: i64) -> Result<Vec<PushLine>, sqlx::Error> {
    Ok(store::lines(db, partner_id, push_id).await?.into_iter().map(store::LineRow::line).collect())
}

/// Every push line of the partner as CSV (who, when, what, outcome).
pub async fn history_csv(db: &Db, partner_id: i64) -> anyhow::Result<String> {
    let rows = store::history_lines(db, partner_id).await?;
    let mut out = CsvBuilder::new(&[
        "push_id",
        "kind",
        "undo_of",
        "period",
        "started_at",
        "started_by",
        "customer_id",
        "customer_name",
        "product",
        "contract_id",
        "service_id",
        "before_units",
        "after_units",
        "unit_change",
        "unit_price",
        "amount",
        "outcome",
        "reason",
    ])?;
    for r in rows {
        let l = &r.line;
        out.row([
            Cell::number(Some(r.push_id)),
            Cell::text(r.kind.as_str()),
            Cell::number(r.undo_of),
            Cell::text(r.period.as_str()),
            Cell::text(app::format::iso_utc(r.started_at)),
            Cell::text(r.started_by.as_str()),
            Cell::number(Some(l.customer_id)),
            Cell::text(l.name.as_str()),
            Cell::text(l.product.as_str()),
            Cell::number(l.contract_id),
            Cell::number(l.service_id),
            Cell::number(l.before_units),
            Cell::number(l.after_units),
            Cell::number(Some(l.unit_change)),
            Cell::number(Some(l.price())),
            Cell::number(Some(l.price().times(l.unit_change))),
            Cell::text(l.outcome.as_str()),
            Cell::text(l.reason.clone().unwrap_or_default()),
        ])?;
    }
    Ok(out.finish()?)
}

/// `GET /exports/billing-history.csv` (signed-in users of the partner).
pub async fn export(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: Option<axum::Extension<app::types::CurrentUser>>,
) -> axum::response::Response {
    let Some(axum::Extension(user)) = user else {
        return crate::exports::sign_in_first("the billing history");
    };
    crate::exports::download("billing-history", history_csv(&state.db, user.partner_id).await)
}
