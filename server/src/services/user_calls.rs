//! Per-partner limits on the buttons that spend the partner's Autotask budget on demand
//! (Test connection, Retrieve picklists, Retrieve services, Refresh preview, Get
//! contracts): each may be pressed 20 times in a row, then once a second, per partner.
//! Autotask allows 10,000 requests an hour per database; a stuck key or a script cannot
//! spend it from the console. Limits are per process (`governor`'s GCRA keyed limiter).

use app::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

/// An on-demand action that calls Autotask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserCall {
    /// Setup › Test connection.
    TestConnection,
    /// Ticket settings › Retrieve from Autotask.
    Picklists,
    /// Billing settings › the contract services list.
    Services,
    /// Billing › Refresh.
    RefreshPreview,
    /// Customer Map › Get contracts.
    Contracts,
    /// Customer Map › a typed Autotask company ID, looked up.
    FindCompany,
    /// Notifications › Send test ticket.
    TestTicket,
}

impl UserCall {
    fn label(self) -> &'static str {
        match self {
            Self::TestConnection => "Test connection",
            Self::Picklists => "Retrieve from Autotask",
            Self::Services => "Retrieve services",
            Self::RefreshPreview => "Refresh",
            Self::Contracts => "Get contracts",
            Self::FindCompany => "Use this ID",
            Self::TestTicket => "Send test ticket",
        }
    }
}

type Key = (i64, UserCall);

/// The limiter, shared by every service of the process.
#[derive(Clone)]
pub struct UserCalls {
    limiter: Arc<RateLimiter<Key, HashMapStateStore<Key>, DefaultClock>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for UserCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCalls").finish_non_exhaustive()
    }
}

impl Default for UserCalls {
    fn default() -> Self {
        let burst = NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(NonZeroU32::MIN).allow_burst(burst);
        let clock = DefaultClock::default();
        Self { limiter: Arc::new(RateLimiter::hashmap_with_clock(quota, clock.clone())), clock }
    }
}

impl UserCalls {
    /// Counts one press of `call` for the partner, or says when it may be pressed again.
    pub fn spend(&self, partner_id: i64, call: UserCall) -> Result<(), AppError> {
        self.limiter.check_key(&(partner_id, call)).map_err(|not_until| {
            let secs = not_until.wait_time_from(self.clock.now()).as_secs_f64().ceil().max(1.0) as u64;
            AppError::TooManyAttempts(format!(
                "\u{201c}{}\u{201d} was used too often in a row; it spends your Autotask API budget. Try again in {secs} second{}.",
                call.label(),
                if secs == 1 { "" } else { "s" }
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_in_a_row_then_a_wait_per_partner_and_action() {
        let calls = UserCalls::default();
        for _ in 0..20 {
            assert!(calls.spend(1, UserCall::TestConnection).is_ok());
        }
        let refused = calls.spend(1, UserCall::TestConnection);
        assert!(matches!(&refused, Err(AppError::TooManyAttempts(m)) if m.contains("Try again in 1 second")), "{refused:?}");
        assert!(calls.spend(2, UserCall::TestConnection).is_ok(), "another partner is not affected");
        assert!(calls.spend(1, UserCall::Contracts).is_ok(), "another action is not affected");
    }
}
