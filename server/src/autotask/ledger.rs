//! Each partner's Autotask calls per hour and feature, for the History's API usage page:
//! the client adds every call here (a map update under a lock, no I/O), and
//! `workers::api_usage` moves what gathered to the database every few seconds, adding to
//! what other instances wrote. Unlike the metrics (process-wide, for operators), these
//! are per partner and kept as long as the partner keeps its history.

use super::usage::Feature;
use std::collections::HashMap;
use std::sync::Mutex;

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// Calls of one partner, hour and feature.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    pub calls: i64,
    /// Refused with 429 (the thread limit or the hourly threshold).
    pub throttled: i64,
    /// 5xx, timeouts, malformed answers, other refusals.
    pub failed: i64,
    /// The calls' durations added up.
    pub latency_ms: i64,
    /// The slowest call.
    pub slowest_ms: i64,
}

impl Calls {
    /// Adds another tally to this one.
    pub fn add(&mut self, other: &Calls) {
        self.calls += other.calls;
        self.throttled += other.throttled;
        self.failed += other.failed;
        self.latency_ms += other.latency_ms;
        self.slowest_ms = self.slowest_ms.max(other.slowest_ms);
    }
}

/// The budget Autotask reported in an hour: the highest count seen, and the threshold.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub used: i64,
    pub threshold: i64,
}

/// What gathered since the last flush.
#[derive(Debug, Default)]
pub struct Pending {
    /// By partner, hour start and feature.
    pub calls: HashMap<(i64, i64, Feature), Calls>,
    /// By partner and hour start.
    pub budgets: HashMap<(i64, i64), Budget>,
}

impl Pending {
    /// Nothing gathered.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.budgets.is_empty()
    }

    fn merge(&mut self, other: Pending) {
        for (key, calls) in other.calls {
            self.calls.entry(key).or_default().add(&calls);
        }
        for (key, b) in other.budgets {
            let mine = self.budgets.entry(key).or_default();
            mine.used = mine.used.max(b.used);
            mine.threshold = b.threshold;
        }
    }
}

/// The start of the hour `ms` falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// The process's gathered calls (one per server, shared by every partner's client).
#[derive(Debug, Default)]
pub struct Ledger {
    pending: Mutex<Pending>,
}

impl Ledger {
    fn with(&self, f: impl FnOnce(&mut Pending)) {
        f(&mut self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// Adds one HTTP call (`outcome` as `usage::outcome` names it).
    pub fn call(&self, partner_id: i64, feature: Feature, outcome: &str, millis: i64, now_ms: i64) {
        let one = Calls {
            calls: 1,
            throttled: i64::from(outcome == "429"),
            failed: i64::from(!matches!(outcome, "ok" | "429" | "4xx")),
            latency_ms: millis,
            slowest_ms: millis,
        };
        self.with(|p| p.calls.entry((partner_id, hour_of(now_ms), feature)).or_default().add(&one));
    }

    /// Notes the budget Autotask reported (ThresholdInformation).
    pub fn budget(&self, partner_id: i64, used: i64, threshold: i64, now_ms: i64) {
        self.with(|p| {
            let b = p.budgets.entry((partner_id, hour_of(now_ms))).or_default();
            b.used = b.used.max(used);
            b.threshold = threshold;
        });
    }

    /// Takes what gathered, to be written.
    pub fn take(&self) -> Pending {
        let mut taken = Pending::default();
        self.with(|p| std::mem::swap(p, &mut taken));
        taken
    }

    /// Puts back what could not be written, to go with the next flush.
    pub fn put_back(&self, pending: Pending) {
        self.with(|p| p.merge(pending));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_gather_by_partner_hour_and_feature_and_survive_a_failed_flush() {
        let ledger = Ledger::default();
        let t = 10 * HOUR_MS + 5;
        ledger.call(1, Feature::Billing, "ok", 40, t);
        ledger.call(1, Feature::Billing, "429", 10, t + 1);
        ledger.call(1, Feature::Billing, "timeout", 30_000, t + 2);
        ledger.call(1, Feature::Billing, "4xx", 5, t + HOUR_MS);
        ledger.call(2, Feature::Sync, "ok", 7, t);
        ledger.budget(1, 120, 10_000, t);
        ledger.budget(1, 90, 10_000, t + 3);
        let taken = ledger.take();
        let first = taken.calls[&(1, 10 * HOUR_MS, Feature::Billing)];
        assert_eq!(first, Calls { calls: 3, throttled: 1, failed: 1, latency_ms: 30_050, slowest_ms: 30_000 });
        assert_eq!(taken.calls[&(1, 11 * HOUR_MS, Feature::Billing)].failed, 0, "a 4xx is the caller's answer, not a failure of Autotask");
        assert_eq!(taken.budgets[&(1, 10 * HOUR_MS)], Budget { used: 120, threshold: 10_000 }, "the highest count of the hour");
        assert!(ledger.take().is_empty());
        ledger.call(1, Feature::Billing, "ok", 60, t);
        ledger.put_back(taken);
        assert_eq!(ledger.take().calls[&(1, 10 * HOUR_MS, Feature::Billing)].calls, 4);
    }
}
