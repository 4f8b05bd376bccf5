//! This process's share of a partner's Autotask thread limit, when several instances
//! work the same partner: the client's own limit (3 calls per entity) holds within one
//! process; a [`Share`] set on a task ([`Share::scope`]) lowers it to the slots this
//! process holds, so that every instance together stays within Autotask's limit.
//!
//! The share can change while calls are in flight: a call waits while its entity has as
//! many calls running as the share allows, and [`Share::busiest`] tells the holder when
//! a slot it gives back is really free.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

tokio::task_local! {
    static SHARE: Arc<Share>;
}

/// Concurrent calls per entity allowed to this process, changed as slots come and go.
#[derive(Debug, Default)]
pub struct Share {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    allowed: usize,
    busy: HashMap<String, usize>,
}

/// A call's place within the share, given back when dropped.
pub struct Place {
    share: Arc<Share>,
    entity: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        {
            let mut state = self.share.lock();
            if let Some(n) = state.busy.get_mut(&self.entity) {
                *n = n.saturating_sub(1);
            }
        }
        self.share.changed.notify_waiters();
    }
}

impl Share {
    /// A share of `allowed` calls per entity.
    pub fn new(allowed: usize) -> Arc<Self> {
        Arc::new(Share { state: Mutex::new(State { allowed, busy: HashMap::new() }), changed: Notify::new() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes how many calls per entity are allowed (calls beyond it finish first).
    pub fn set_allowed(&self, allowed: usize) {
        self.lock().allowed = allowed;
        self.changed.notify_waiters();
    }

    /// The most calls any one entity has running now.
    pub fn busiest(&self) -> usize {
        self.lock().busy.values().copied().max().unwrap_or_default()
    }

    /// Waits for a place for a call to `entity`.
    pub async fn enter(self: &Arc<Self>, entity: &str) -> Place {
        let entity = entity.to_ascii_lowercase();
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                let allowed = state.allowed;
                let busy = state.busy.entry(entity.clone()).or_default();
                if *busy < allowed {
                    *busy += 1;
                    return Place { share: self.clone(), entity };
                }
            }
            changed.await;
        }
    }

    /// Runs `work` with every Autotask call it makes kept within this share.
    pub fn scope<F: Future>(self: Arc<Self>, work: F) -> impl Future<Output = F::Output> {
        SHARE.scope(self, work)
    }

    /// The share of the running task, if it has one.
    pub fn current() -> Option<Arc<Share>> {
        SHARE.try_with(Arc::clone).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Share;
    use std::time::Duration;

    #[tokio::test]
    async fn a_call_waits_for_a_place_and_goes_when_the_share_grows() {
        let share = Share::new(1);
        let first = share.enter("Tickets").await;
        let _other_entity = share.enter("TicketNotes").await;
        assert_eq!(share.busiest(), 1);
        let waiting = tokio::spawn({
            let share = share.clone();
            async move { share.enter("tickets").await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "a second ticket call waits: the share allows one");
        share.set_allowed(2);
        let second = tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("it goes once the share grows").unwrap();
        share.set_allowed(0);
        drop(first);
        assert_eq!(share.busiest(), 1, "one ticket call still runs");
        drop(second);
        assert_eq!(share.busiest(), 1, "and the note call");
    }
}
