//! Autotask API usage: what Taskbridge spent of the partner's Autotask, per hour and by
//! the feature that spent it, against the hourly budget Autotask reports (shared by every
//! integration of the partner's Autotask), with thread-limit refusals and latency.

use crate::types::UnixMillis;
use serde::{Deserialize, Serialize};

/// The windows the page offers, in hours.
pub const USAGE_WINDOWS: [(i64, &str); 3] = [(24, "Last 24 hours"), (168, "Last 7 days"), (720, "Last 30 days")];

/// The share of the budget above which an hour is flagged (Autotask starts slowing calls
/// down at 50% and the operators' alert fires at 75%).
pub const BUDGET_WARN: f64 = 0.75;

/// A feature's label as the page shows it.
pub fn feature_label(feature: &str) -> &str {
    match feature {
        "discovery" => "Discovery and import",
        "map" => "Customer Map",
        "billing" => "Billing",
        "tickets" => "Tickets",
        "sync" => "Customer sync",
        "contacts" => "Contacts",
        "setup" => "Setup",
        "other" => "Other",
        other => other,
    }
}

/// Calls and how they went, for a feature or an hour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
    /// HTTP calls made (each retry is a call).
    pub calls: i64,
    /// Refused with 429: the thread limit or the hourly threshold.
    pub throttled: i64,
    /// 5xx, timeouts and unreadable answers.
    pub failed: i64,
    /// The average time Autotask took to answer, in milliseconds.
    pub average_ms: i64,
    /// The slowest answer, in milliseconds.
    pub slowest_ms: i64,
}

/// One feature's calls in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureUsage {
    /// Stored form ("billing").
    pub feature: String,
    /// Its calls.
    pub counts: CallCounts,
}

/// One hour with calls or a reported budget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourUsage {
    /// The hour's start (UTC).
    pub hour_start: UnixMillis,
    /// Taskbridge's calls in it.
    pub counts: CallCounts,
    /// Its calls by feature, most first.
    pub features: Vec<(String, i64)>,
    /// The highest request count Autotask reported for the hour (every integration of
    /// the partner's Autotask), and the threshold, when Taskbridge read it.
    pub budget: Option<(i64, i64)>,
}

impl HourUsage {
    /// The share of the budget used, when Autotask reported it.
    pub fn budget_share(&self) -> Option<f64> {
        self.budget.filter(|(_, t)| *t > 0).map(|(used, t)| used as f64 / t as f64)
    }
}

/// The page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiUsage {
    /// The window, in hours.
    pub hours: i64,
    /// Every call in the window.
    pub total: CallCounts,
    /// By feature, most calls first.
    pub features: Vec<FeatureUsage>,
    /// The hours with calls or a budget reading, newest first.
    pub rows: Vec<HourUsage>,
    /// The hourly threshold Autotask last reported.
    pub threshold: Option<i64>,
    /// The hour that used the most of the budget.
    pub peak: Option<HourUsage>,
}

impl ApiUsage {
    /// The window asked for, or the first one.
    pub fn window(hours: i64) -> i64 {
        USAGE_WINDOWS.iter().map(|(h, _)| *h).find(|h| *h == hours).unwrap_or(USAGE_WINDOWS[0].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_budget_shares() {
        assert_eq!(ApiUsage::window(168), 168);
        assert_eq!(ApiUsage::window(5), 24, "an unknown window falls back to a day");
        let hour = HourUsage { budget: Some((7_600, 10_000)), ..HourUsage::default() };
        assert!(hour.budget_share().is_some_and(|s| s > BUDGET_WARN));
        assert_eq!(HourUsage { budget: Some((5, 0)), ..HourUsage::default() }.budget_share(), None);
        assert_eq!(feature_label("sync"), "Customer sync");
    }
}
