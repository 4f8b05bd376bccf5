//! The one backoff rule for Autotask: exponential from a base, doubling per attempt, up to a
//! cap. The client's in-call retries add full jitter (a random share of the wait, from the
//! thread-local `rand` generator, so clients that fail together do not retry in lockstep);
//! the dispatcher's pauses use the plain exponential so its "retry at" stays predictable.

use rand::Rng;
use std::time::Duration;

/// `base × 2^attempt`, at most `cap` (attempt 0 waits `base`).
pub fn exponential(base: Duration, cap: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.min(16)).min(cap)
}

/// The wait before retry number `attempt + 1` of one call: a uniformly random share of
/// [`exponential`], never shorter than Autotask's `Retry-After`.
pub fn backoff(base: Duration, cap: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let jittered = exponential(base, cap, attempt).mul_f64(rand::thread_rng().gen_range(0.0..=1.0));
    retry_after.map_or(jittered, |r| r.max(jittered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(300));
        assert_eq!(exponential(base, cap, 0), Duration::from_secs(1));
        assert_eq!(exponential(base, cap, 3), Duration::from_secs(8));
        assert_eq!(exponential(base, cap, 40), cap);
    }

    #[test]
    fn jittered_waits_stay_within_the_exponential_and_honour_retry_after() {
        let (base, cap) = (Duration::from_millis(250), Duration::from_secs(20));
        let waits: Vec<Duration> = (0..200).map(|_| backoff(base, cap, 2, None)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(1)));
        assert!(waits.iter().any(|w| *w != waits[0]), "waits must differ between retries");
        assert!(backoff(base, cap, 0, Some(Duration::from_secs(5))) >= Duration::from_secs(5));
    }
}
