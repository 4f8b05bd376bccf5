//! `GET /api/v1/runs`: the partner's runs (imports, syncs, pushes, tests…) as a feed in
//! the order they ended, for partners who feed their own monitoring. Each run is written
//! once, when it ends, so a run read once is never read changed.

use super::error::ApiError;
use super::feed::{self, FeedQuery, SETTLE_MS};
use crate::db::history as store;
use crate::db::tokens::ApiCaller;
use crate::state::AppState;
use app::types::history::RunRow;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

/// One run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunItem {
    /// Taskbridge's id of the run (its History page is `/history/{run_id}`).
    pub run_id: i64,
    /// discover, import, contact_fetch, contact_import, sync, push, push_undo, connection_test or test_ticket.
    pub kind: String,
    /// user, schedule, token, webhook or system.
    pub trigger: String,
    /// The user's email, "schedule", "api token NAME"…
    pub started_by: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub finished_at: String,
    /// ok, partial (some records failed) or failed.
    pub outcome: String,
    /// Records handled.
    pub done: i64,
    /// Records left alone on purpose.
    pub skipped: i64,
    /// Records that failed (their reasons are on the run's History page).
    pub failed: i64,
    /// What happened, in words.
    pub summary: String,
    /// The run whose failed records this one retried.
    pub retry_of: Option<i64>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunsAnswer {
    /// Runs that ended after the cursor, in the order they ended.
    #[schema(inline)]
    pub runs: Vec<RunItem>,
    /// Send this as `changed_since` next time (also when nothing new ended).
    pub next_cursor: String,
    /// More runs wait: ask again at once.
    pub has_more: bool,
}

fn item(r: RunRow) -> RunItem {
    RunItem {
        run_id: r.run_id,
        kind: r.kind.as_str().into(),
        trigger: r.trigger.as_str().into(),
        started_by: r.started_by,
        started_at: feed::rfc3339(r.started_at),
        finished_at: feed::rfc3339(r.finished_at),
        outcome: r.outcome.as_str().into(),
        done: r.done,
        skipped: r.skipped,
        failed: r.failed,
        summary: r.summary,
        retry_of: r.retry_of,
    }
}

/// `GET /api/v1/runs`.
pub async fn feed(
    State(state): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<RunsAnswer>, ApiError> {
    let (after, limit) = feed::bounds(query)?;
    let until = crate::db::now_ms() - SETTLE_MS;
    let mut rows = store::since(&state.db, caller.partner_id, after, until, limit + 1)
        .await
        .map_err(|e| ApiError::unavailable(e, "Taskbridge could not read the runs right now; retry shortly."))?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = feed::next_cursor(rows.last().map(|r| (r.finished_at, r.run_id)), after);
    Ok(Json(RunsAnswer { runs: rows.into_iter().map(item).collect(), next_cursor, has_more }))
}

/// OpenAPI schema of the feed's answer, with an example.
pub fn feed_schema() -> serde_json::Value {
    let mut schema = super::schema::of::<RunsAnswer>();
    schema["examples"] = serde_json::json!([{
        "runs": [{
            "run_id": 812, "kind": "push", "trigger": "schedule", "started_by": "schedule",
            "started_at": "2026-12-04T02:00:00.120Z", "finished_at": "2026-12-04T02:00:41.877Z",
            "outcome": "partial", "done": 37, "skipped": 2, "failed": 1,
            "summary": "37 quantities written, 2 held above 500 units, 1 failed", "retry_of": null
        }],
        "next_cursor": "1796349641877.812",
        "has_more": false
    }]);
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_has_the_answers_shape() {
        let schema = feed_schema();
        for field in schema["examples"][0]["runs"][0].as_object().unwrap().keys() {
            assert!(schema["properties"]["runs"]["items"]["properties"][field].is_object(), "runs.{field} is not in the schema");
        }
    }
}
