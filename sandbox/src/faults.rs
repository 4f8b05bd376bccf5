//! Fault injection, switchable at start and at run time (`/_sandbox/faults`): latency
//! (fixed plus jitter), 429 and 5xx rates, timeouts, and "zone moved" (401 until
//! ZoneInformation is asked again).

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// The fault settings. Rates are probabilities in 0..=1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API call.
    pub latency_ms: u64,
    /// Up to this much more, uniformly random.
    pub jitter_ms: u64,
    /// Share of calls answered 429 (thread threshold).
    pub rate_429: f64,
    /// Share of calls answered 500/503.
    pub rate_5xx: f64,
    /// Share of calls answered 200 with a truncated, unreadable body.
    pub rate_malformed: f64,
    /// Share of calls that hang for `timeout_ms` before answering.
    pub rate_timeout: f64,
    /// How long a "timeout" hangs.
    pub timeout_ms: u64,
    /// Answer 401 to every authenticated call until ZoneInformation is requested.
    pub zone_moved: bool,
    /// Answer 404 instead of 200 `{"item":null}` for a missing id.
    pub missing_item_404: bool,
    /// Share of writes (POST, PATCH, PUT) that are applied but answered with a timeout
    /// error, as a real gateway timeout after the database committed: the caller cannot
    /// tell that the record exists.
    pub rate_lost_write: f64,
    /// When not empty, the faults (latency included) hit only calls on these entities
    /// (as Autotask names them, e.g. `ContractServiceAdjustments`); others go through.
    pub entities: Vec<String>,
}

impl Faults {
    /// Checks ranges, so a bad control request is refused with the reason.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("rate_429", self.rate_429),
            ("rate_5xx", self.rate_5xx),
            ("rate_timeout", self.rate_timeout),
            ("rate_malformed", self.rate_malformed),
            ("rate_lost_write", self.rate_lost_write),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        Ok(())
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Nothing.
    None,
    /// Answer 429.
    Throttle,
    /// Answer 500 or 503.
    ServerError(u16),
    /// Hang, then answer.
    Timeout(Duration),
    /// A 200 whose body is cut off.
    Malformed,
}

/// The fault decisions' random source: SplitMix64 (from `rand_xoshiro`) behind a lock
/// held for one draw, seeded so a fault run can be repeated.
#[derive(Debug)]
pub struct Dice(Mutex<SplitMix64>);

impl Dice {
    /// Seeded dice.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(SplitMix64::seed_from_u64(seed)))
    }

    /// A uniform number in [0, 1).
    pub fn roll(&self) -> f64 {
        let bits = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next_u64();
        (bits >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Faults {
    /// The faults a call on `entity` gets: these, or none when they are scoped to other entities.
    pub fn for_entity(self, entity: &str) -> Faults {
        if self.entities.is_empty() || self.entities.iter().any(|e| e.eq_ignore_ascii_case(entity)) {
            self
        } else {
            Faults::default()
        }
    }

    /// The latency to add to this call.
    pub fn latency(&self, dice: &Dice) -> Duration {
        let jitter = if self.jitter_ms > 0 { (dice.roll() * self.jitter_ms as f64) as u64 } else { 0 };
        Duration::from_millis(self.latency_ms + jitter)
    }

    /// Whether a write that succeeds should be answered as if it failed.
    pub fn lose_write(&self, dice: &Dice) -> bool {
        self.rate_lost_write > 0.0 && dice.roll() < self.rate_lost_write
    }

    /// Whether to break this call, and how.
    pub fn decide(&self, dice: &Dice) -> Injected {
        let r = dice.roll();
        if r < self.rate_429 {
            Injected::Throttle
        } else if r < self.rate_429 + self.rate_5xx {
            Injected::ServerError(if dice.roll() < 0.5 { 500 } else { 503 })
        } else if r < self.rate_429 + self.rate_5xx + self.rate_timeout {
            Injected::Timeout(Duration::from_millis(if self.timeout_ms == 0 { 120_000 } else { self.timeout_ms }))
        } else if r < self.rate_429 + self.rate_5xx + self.rate_timeout + self.rate_malformed {
            Injected::Malformed
        } else {
            Injected::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_honoured_roughly() {
        let dice = Dice::new(7);
        let faults = Faults { rate_429: 0.2, rate_5xx: 0.1, ..Faults::default() };
        let n = 10_000;
        let throttled = (0..n).filter(|_| faults.decide(&dice) == Injected::Throttle).count();
        assert!((1_700..2_300).contains(&throttled), "{throttled}");
        assert_eq!((0..100).filter(|_| Faults::default().decide(&dice) != Injected::None).count(), 0);
    }

    #[test]
    fn faults_scoped_to_entities_spare_the_others() {
        let faults = Faults { rate_5xx: 1.0, entities: vec!["ContractServiceAdjustments".into()], ..Faults::default() };
        assert_eq!(faults.clone().for_entity("contractserviceadjustments").rate_5xx, 1.0);
        assert_eq!(faults.for_entity("Contracts"), Faults::default());
        let everywhere = Faults { rate_5xx: 1.0, ..Faults::default() };
        assert_eq!(everywhere.clone().for_entity("Contracts"), everywhere);
    }

    #[test]
    fn out_of_range_rates_are_refused() {
        assert!(Faults { rate_5xx: 1.5, ..Faults::default() }.validate().is_err());
    }
}
