//! Autotask's limits: three concurrent requests per integration code and entity, and an
//! hourly request budget with added latency at 50% and 75% of it. Also the counters the
//! control endpoint reports (requests per entity, highest concurrency seen).

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent requests allowed per (integration code, entity).
pub const THREADS_PER_ENTITY: usize = 3;

/// What the control endpoint reports.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    /// Requests received per entity bucket.
    pub requests: BTreeMap<String, u64>,
    /// Highest concurrency seen per entity bucket.
    pub peak_concurrency: BTreeMap<String, usize>,
    /// Highest concurrency seen across all buckets.
    pub peak_concurrency_overall: usize,
    /// Requests refused by the thread limit.
    pub thread_limit_rejections: u64,
    /// Requests refused by the hourly budget.
    pub budget_rejections: u64,
}

#[derive(Debug, Default)]
struct Inner {
    active: HashMap<(String, String), usize>,
    active_by_entity: HashMap<String, usize>,
    active_total: usize,
    stats: Stats,
    window: VecDeque<Instant>,
}

/// Shared limiter and counters.
#[derive(Debug, Clone)]
pub struct Limits {
    inner: Arc<Mutex<Inner>>,
    /// Requests allowed per rolling hour.
    pub hourly_threshold: usize,
}

/// Holds a thread slot; releasing it on drop.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Mutex<Inner>>,
    key: (String, String),
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.lock() {
            if let Some(n) = inner.active.get_mut(&self.key) {
                *n = n.saturating_sub(1);
            }
            if let Some(n) = inner.active_by_entity.get_mut(&self.key.1) {
                *n = n.saturating_sub(1);
            }
            inner.active_total = inner.active_total.saturating_sub(1);
        }
    }
}

/// Where the hourly budget stands after counting a request.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Under 50%: no added latency.
    Fine,
    /// Added latency (0.5 s at ≥50%, 1 s at ≥75%).
    Slow(Duration),
    /// At or over 100%: refused.
    Exceeded,
}

impl Limits {
    /// A limiter with this hourly threshold.
    pub fn new(hourly_threshold: usize) -> Self {
        Self { inner: Arc::default(), hourly_threshold }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a request against the rolling hour.
    pub fn count_request(&self, bucket: &str) -> Budget {
        let mut inner = self.lock();
        *inner.stats.requests.entry(bucket.to_string()).or_default() += 1;
        let now = Instant::now();
        while inner.window.front().is_some_and(|t| now.duration_since(*t) > Duration::from_secs(3600)) {
            inner.window.pop_front();
        }
        let used = inner.window.len();
        if used >= self.hourly_threshold {
            inner.stats.budget_rejections += 1;
            return Budget::Exceeded;
        }
        inner.window.push_back(now);
        let ratio = used as f64 / self.hourly_threshold as f64;
        if ratio >= 0.75 {
            Budget::Slow(Duration::from_millis(1000))
        } else if ratio >= 0.5 {
            Budget::Slow(Duration::from_millis(500))
        } else {
            Budget::Fine
        }
    }

    /// Requests in the current rolling hour.
    pub fn hourly_count(&self) -> usize {
        let mut inner = self.lock();
        let now = Instant::now();
        while inner.window.front().is_some_and(|t| now.duration_since(*t) > Duration::from_secs(3600)) {
            inner.window.pop_front();
        }
        inner.window.len()
    }

    /// Takes a thread slot for (integration code, entity), or None when three are in use.
    pub fn acquire(&self, code: &str, entity: &str) -> Option<Permit> {
        let mut inner = self.lock();
        let key = (code.to_ascii_lowercase(), entity.to_string());
        let current = inner.active.get(&key).copied().unwrap_or(0);
        if current >= THREADS_PER_ENTITY {
            inner.stats.thread_limit_rejections += 1;
            return None;
        }
        inner.active.insert(key.clone(), current + 1);
        let by_entity = {
            let n = inner.active_by_entity.entry(entity.to_string()).or_default();
            *n += 1;
            *n
        };
        inner.active_total += 1;
        let total = inner.active_total;
        let peak = inner.stats.peak_concurrency.entry(entity.to_string()).or_default();
        *peak = (*peak).max(by_entity);
        inner.stats.peak_concurrency_overall = inner.stats.peak_concurrency_overall.max(total);
        Some(Permit { inner: self.inner.clone(), key })
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Zeroes the counters (not the hourly window).
    pub fn reset_stats(&self) {
        self.lock().stats = Stats::default();
    }

    /// Empties the hourly window.
    pub fn reset_budget(&self) {
        self.lock().window.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fourth_concurrent_request_per_code_and_entity_is_refused() {
        let limits = Limits::new(10_000);
        let held: Vec<_> = (0..3).map(|_| limits.acquire("CODE", "Companies").unwrap()).collect();
        assert!(limits.acquire("code", "Companies").is_none(), "codes compare case-insensitively");
        assert!(limits.acquire("CODE", "Contacts").is_some(), "other entities have their own slots");
        assert!(limits.acquire("OTHER", "Companies").is_some(), "other integrations have their own slots");
        drop(held);
        assert!(limits.acquire("CODE", "Companies").is_some());
        let stats = limits.stats();
        assert_eq!(stats.peak_concurrency["Companies"], 4);
        assert_eq!(stats.thread_limit_rejections, 1);
    }

    #[test]
    fn the_budget_slows_then_refuses() {
        let limits = Limits::new(4);
        assert!(matches!(limits.count_request("x"), Budget::Fine));
        assert!(matches!(limits.count_request("x"), Budget::Fine));
        assert!(matches!(limits.count_request("x"), Budget::Slow(d) if d.as_millis() == 500));
        assert!(matches!(limits.count_request("x"), Budget::Slow(d) if d.as_millis() == 1000));
        assert!(matches!(limits.count_request("x"), Budget::Exceeded));
        assert_eq!(limits.hourly_count(), 4);
    }
}
