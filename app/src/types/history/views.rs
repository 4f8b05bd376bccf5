//! What the History page asks for and gets back: the query, a page of runs, one run with
//! its lines, and what "Retry failed" re-runs.

use super::{RunKind, RunLine, RunRow};
use serde::{Deserialize, Serialize};

/// What the History page asks for. Dates are `YYYY-MM-DD` (UTC), both ends included;
/// every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunQuery {
    /// A [`RunKind`]'s stored form, or empty for all.
    pub kind: String,
    /// A [`RunOutcome`]'s stored form, or empty for all.
    pub outcome: String,
    /// A [`Trigger`]'s stored form, or empty for all.
    pub trigger: String,
    /// Only runs that concern this customer.
    pub customer_id: Option<i64>,
    /// From this day.
    pub from: String,
    /// Up to this day.
    pub to: String,
    /// Words in the summary, who started it, or a line's customer or reason.
    pub search: String,
    /// Runs older than this one (the next page).
    pub before: Option<i64>,
    /// Runs newer than this one (the previous page).
    pub after: Option<i64>,
}

impl RunQuery {
    /// Whether any filter is set (paging aside).
    pub fn filtered(&self) -> bool {
        let texts = [&self.kind, &self.outcome, &self.trigger, &self.from, &self.to, &self.search];
        self.customer_id.is_some() || texts.iter().any(|t| !t.trim().is_empty())
    }
}

/// Rows shown per History page.
pub const RUNS_PER_PAGE: i64 = 50;

/// A page of runs, newest first, with cursors to the pages beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPage {
    /// The runs.
    pub rows: Vec<RunRow>,
    /// Pass as `before` for the older page (None: this is the last).
    pub older: Option<i64>,
    /// Pass as `after` for the newer page (None: this is the newest).
    pub newer: Option<i64>,
    /// The customer filtered on, by name.
    pub customer_name: Option<String>,
}

/// Lines shown with a run (the CSV export has them all).
pub const RUN_LINES_SHOWN: i64 = 500;

/// One run with its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetail {
    /// The run.
    pub run: RunRow,
    /// The later run that retried its failed records.
    pub retried_by: Option<i64>,
    /// Whether "Retry failed" applies: a kind that allows it, with failed records not
    /// retried yet.
    pub retryable: bool,
    /// Its first lines.
    pub lines: Vec<RunLine>,
    /// How many lines it has in all.
    pub lines_total: i64,
}

/// What "Retry failed" re-runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPlan {
    /// The run retried.
    pub run_id: i64,
    /// Its kind.
    pub kind: RunKind,
    /// The failed companies or contacts (imports).
    pub ids: Vec<i64>,
    /// The failed (customer, product) lines (pushes).
    pub lines: Vec<(i64, String)>,
}

/// A retry that started: a background job (imports) or a push that already ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryStarted {
    /// The job doing it.
    pub job: Option<crate::types::companies::JobView>,
    /// The push's result.
    pub push: Option<crate::types::billing::PushResult>,
    /// Events sent back to the ticket dispatcher (its next round is the retry's run).
    #[serde(default)]
    pub requeued: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_alone_is_not_a_filter() {
        assert!(!RunQuery { before: Some(9), after: Some(3), search: "  ".into(), ..RunQuery::default() }.filtered());
        assert!(RunQuery { to: "2026-12-03".into(), ..RunQuery::default() }.filtered());
        assert!(RunQuery { customer_id: Some(1), ..RunQuery::default() }.filtered());
    }
}
