//! The API usage page: the partner's stored hours (`db::history::api_calls`) summed by
//! feature and by hour for the window asked for.

use crate::autotask::ledger::{hour_of, Calls, HOUR_MS};
use crate::db::history::api_calls::{self as store, UsageRow};
use crate::db::Db;
use app::types::history::{ApiUsage, CallCounts, FeatureUsage, HourUsage};
use std::collections::{BTreeMap, HashMap};

/// A stored row's tally.
fn calls(r: &UsageRow) -> Calls {
    Calls { calls: r.calls, throttled: r.throttled, failed: r.failed, latency_ms: r.latency_ms, slowest_ms: r.slowest_ms }
}

/// A tally as the page shows it.
fn counts(c: &Calls) -> CallCounts {
    CallCounts {
        calls: c.calls,
        throttled: c.throttled,
        failed: c.failed,
        average_ms: if c.calls > 0 { c.latency_ms / c.calls } else { 0 },
        slowest_ms: c.slowest_ms,
    }
}

/// The page for the last `hours` (one of the offered windows) before `now`.
pub async fn page(db: &Db, partner_id: i64, hours: i64, now: i64) -> Result<ApiUsage, sqlx::Error> {
    let hours = ApiUsage::window(hours);
    let from = hour_of(now) - (hours - 1) * HOUR_MS;
    let rows = store::calls(db, partner_id, from).await?;
    let budgets: HashMap<i64, (i64, i64)> =
        store::budgets(db, partner_id, from).await?.into_iter().map(|b| (b.hour_start, (b.used, b.threshold))).collect();
    let threshold = store::latest_threshold(db, partner_id).await?;
    Ok(summarise(hours, &rows, &budgets, threshold))
}

fn summarise(hours: i64, rows: &[UsageRow], budgets: &HashMap<i64, (i64, i64)>, threshold: Option<i64>) -> ApiUsage {
    let mut total = Calls::default();
    let mut by_feature: BTreeMap<&str, Calls> = BTreeMap::new();
    let mut by_hour: BTreeMap<i64, (Calls, Vec<(String, i64)>)> = budgets.keys().map(|h| (*h, Default::default())).collect();
    for r in rows {
        let c = calls(r);
        total.add(&c);
        by_feature.entry(&r.feature).or_default().add(&c);
        let hour = by_hour.entry(r.hour_start).or_default();
        hour.0.add(&c);
        hour.1.push((r.feature.clone(), r.calls));
    }
    let mut features: Vec<FeatureUsage> = by_feature.into_iter().map(|(f, s)| FeatureUsage { feature: f.to_string(), counts: counts(&s) }).collect();
    features.sort_by(|a, b| b.counts.calls.cmp(&a.counts.calls).then_with(|| a.feature.cmp(&b.feature)));
    let rows: Vec<HourUsage> = by_hour
        .into_iter()
        .rev()
        .map(|(hour_start, (sum, mut features))| {
            features.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            HourUsage { hour_start, counts: counts(&sum), features, budget: budgets.get(&hour_start).copied() }
        })
        .collect();
    let peak = rows
        .iter()
        .filter(|h| h.budget_share().is_some())
        .max_by(|a, b| a.budget_share().partial_cmp(&b.budget_share()).unwrap_or(std::cmp::Ordering::Equal))
        .cloned();
    ApiUsage { hours, total: counts(&total), features, rows, threshold, peak }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hour: i64, feature: &str, calls: i64, latency_ms: i64) -> UsageRow {
        UsageRow {
            hour_start: hour * HOUR_MS,
            feature: feature.into(),
            calls,
            throttled: 1,
            failed: 0,
            latency_ms,
            slowest_ms: latency_ms / calls.max(1) * 2,
        }
    }

    #[test]
    fn hours_and_features_add_up_newest_first_with_the_peak_hour() {
        let rows = [row(5, "billing", 100, 5_000), row(5, "tickets", 300, 9_000), row(7, "billing", 10, 1_000)];
        let budgets = HashMap::from([(5 * HOUR_MS, (6_200, 10_000)), (6 * HOUR_MS, (8_000, 10_000))]);
        let page = summarise(24, &rows, &budgets, Some(10_000));
        assert_eq!(page.total.calls, 410);
        assert_eq!(page.total.throttled, 3);
        assert_eq!(page.total.average_ms, 15_000 / 410);
        assert_eq!(page.features[0].feature, "tickets", "most calls first");
        assert_eq!(page.features[1].counts.calls, 110);
        let starts: Vec<i64> = page.rows.iter().map(|h| h.hour_start / HOUR_MS).collect();
        assert_eq!(starts, [7, 6, 5], "an hour with only a budget reading is shown too");
        assert_eq!(page.rows[2].features, [("tickets".to_string(), 300), ("billing".to_string(), 100)]);
        assert_eq!(page.peak.map(|p| p.hour_start), Some(6 * HOUR_MS));
    }
}
