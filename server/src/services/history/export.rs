//! A run as CSV (`GET /exports/runs/{id}.csv`).

use crate::db::history as store;
use crate::db::Db;

use super::MAX_LINES;

/// A run as CSV: a header line for the run, then its lines.
pub async fn run_csv(db: &Db, partner_id: i64, run_id: i64) -> anyhow::Result<Option<String>> {
    use crate::exports::{Cell, CsvBuilder};
    let Some(run) = store::get(db, partner_id, run_id).await? else {
        return Ok(None);
    };
    let (lines, _) = store::lines(db, partner_id, run_id, MAX_LINES as i64).await?;
    let mut out = CsvBuilder::new(&[
        "Run",
        "Kind",
        "Started by",
        "Started",
        "Ended",
        "Outcome",
        "Line",
        "Customer ID",
        "Customer",
        "Autotask record",
        "Reason",
    ])?;
    let started = app::format::iso_utc(run.started_at);
    let ended = app::format::iso_utc(run.finished_at);
    let head = |line: &str| {
        [
            Cell::number(Some(run.run_id)),
            Cell::text(run.kind.label()),
            Cell::text(run.started_by.clone()),
            Cell::text(started.clone()),
            Cell::text(ended.clone()),
            Cell::text(run.outcome.label()),
            Cell::text(line),
        ]
    };
    out.row(head("summary").into_iter().chain([Cell::number(None::<i64>), Cell::text(""), Cell::text(""), Cell::text(run.summary.clone())]))?;
    for l in lines {
        out.row(head(&l.outcome).into_iter().chain([
            Cell::number(l.customer_id),
            Cell::text(l.customer_name),
            Cell::text(l.record),
            Cell::text(l.reason),
        ]))?;
    }
    Ok(Some(out.finish()?))
}

/// `GET /exports/runs/{id}.csv` (signed-in users of the partner; another partner's run is
/// not found).
pub async fn export(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
    user: Option<axum::Extension<app::types::CurrentUser>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(axum::Extension(user)) = user else {
        return crate::exports::sign_in_first("the history");
    };
    let Some(run_id) = file.strip_suffix(".csv").and_then(|id| id.parse::<i64>().ok()) else {
        return (http::StatusCode::NOT_FOUND, "No such run.").into_response();
    };
    match run_csv(&state.db, user.partner_id, run_id).await {
        Ok(None) => (http::StatusCode::NOT_FOUND, "No such run.").into_response(),
        found => crate::exports::download(&format!("run-{run_id}"), found.map(Option::unwrap_or_default)),
    }
}
