//! This instance's part in a partner's dispatch while it works the partner, when
//! several instances share one partner: its membership, the customers it claimed for
//! the round (their events and notes are its alone, in order), and its slots of the
//! partner's thread limit, which cap its Autotask calls through an
//! [`crate::autotask::share::Share`]. All are short leases, renewed in the background
//! every quarter of their length; a dead instance's lapse within seconds, and a
//! restarted one (same name) takes its own back at once.

use super::Dispatcher;
use crate::autotask::share::Share;
use crate::db::dispatch::claims;
use crate::db::now_ms;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// This instance's membership of one partner's dispatch while a run lasts.
pub(super) struct Membership {
    length: Duration,
    renewed: Mutex<Instant>,
    /// Live members when last counted (this one included).
    members: AtomicUsize,
    /// Slots of the thread limit held.
    slots: AtomicI64,
    /// Customers claimed this round.
    customers: Mutex<HashSet<i64>>,
    /// This process's calls kept within its slots.
    pub(super) share: Arc<Share>,
}

impl Membership {
    /// Whether the claims are surely still ours: renewed recently enough that they cannot
    /// have lapsed (a renewal that keeps failing stops the run).
    pub(super) fn valid(&self) -> bool {
        super::round::lock(&self.renewed).elapsed() < self.length * 3 / 4
    }

    /// Live members when last counted.
    pub(super) fn members(&self) -> usize {
        self.members.load(Ordering::SeqCst)
    }

    /// Whether this instance holds the customer this round.
    pub(super) fn holds(&self, customer_id: i64) -> bool {
        super::round::lock(&self.customers).contains(&customer_id)
    }

    /// Customers this instance may still claim this round, beside the `held` ones: any
    /// number alone; with other members, no more than it has lanes, so the partner's
    /// customers are shared out.
    fn room(&self, lanes: usize, held: &HashSet<i64>) -> usize {
        if self.members() <= 1 {
            return usize::MAX;
        }
        lanes.max(1).saturating_sub(held.len())
    }
}

impl Dispatcher {
    fn until(&self) -> i64 {
        now_ms() + self.opts.lease.as_millis() as i64
    }

    /// Joins the partner's dispatch: membership and a share of the thread limit. None
    /// when no slot is free for it yet (it stays a member for a while, so the others
    /// give up a slot).
    pub(super) async fn join(&self, partner_id: i64) -> Result<Option<Membership>, sqlx::Error> {
        let m = Membership {
            length: self.opts.lease,
            renewed: Mutex::new(Instant::now()),
            members: AtomicUsize::new(1),
            slots: AtomicI64::new(0),
            customers: Mutex::default(),
            share: Share::new(0),
        };
        self.rebalance(partner_id, &m).await?;
        if m.slots.load(Ordering::SeqCst) == 0 {
            tracing::info!(partner_id, members = m.members(), "waiting for a share of the partner's Autotask thread limit");
            return Ok(None);
        }
        Ok(Some(m))
    }

    /// Renews the membership, the claims and the slots, and shares the slots out again
    /// among the live members.
    async fn rebalance(&self, partner_id: i64, m: &Membership) -> Result<(), sqlx::Error> {
        claims::renew(&self.db, partner_id, &self.holder, self.until()).await?;
        *super::round::lock(&m.renewed) = Instant::now();
        let members = claims::members(&self.db, partner_id, now_ms()).await?;
        let rank = members.iter().position(|h| *h == self.holder).unwrap_or(members.len());
        let count = members.len().max(rank + 1);
        let before = m.members.swap(count, Ordering::SeqCst);
        if count != before {
            tracing::info!(partner_id, members = count, "instances working this partner's tickets");
        }
        let fair = claims::fair_share(count, rank);
        let held = m.slots.load(Ordering::SeqCst);
        // No new call beyond the fair share; slots still in use are given back later.
        m.share.set_allowed(fair.min(held).max(0) as usize);
        let target = fair.max((m.share.busiest() as i64).min(held));
        let held = claims::balance_slots(&self.db, partner_id, &self.holder, target, now_ms(), self.until()).await?;
        m.slots.store(held, Ordering::SeqCst);
        m.share.set_allowed(fair.min(held).max(0) as usize);
        Ok(())
    }

    /// Renews the membership every quarter of its length until `done`.
    pub(super) async fn keep(&self, partner_id: i64, m: &Membership, done: &Notify) {
        loop {
            tokio::select! {
                _ = done.notified() => return,
                _ = tokio::time::sleep(self.opts.lease / 4) => {}
            }
            // On failure keep trying: the run stops on its own once the claims may have lapsed.
            if let Err(e) = self.rebalance(partner_id, m).await {
                tracing::warn!(error = %e, partner_id, "could not renew this instance's dispatch claims");
            }
        }
    }

    /// Claims customers for this round, as many as it has room for; returns whether any
    /// was newly claimed (events read before may be stale: read them again).
    pub(super) async fn claim(&self, partner_id: i64, m: &Membership, customers: impl IntoIterator<Item = i64>) -> Result<bool, sqlx::Error> {
        let wanted: Vec<i64> = {
            let held = super::round::lock(&m.customers);
            let mut fresh: Vec<i64> = customers.into_iter().filter(|c| !held.contains(c)).collect();
            fresh.sort_unstable();
            fresh.dedup();
            fresh.truncate(m.room(self.opts.lanes, &held));
            fresh
        };
        if wanted.is_empty() {
            return Ok(false);
        }
        let won = claims::claim(&self.db, partner_id, &self.holder, &wanted, now_ms(), self.until()).await?;
        if won.len() < wanted.len() {
            tracing::debug!(partner_id, lost = wanted.len() - won.len(), "customers already worked by another instance");
        }
        let fresh = !won.is_empty();
        super::round::lock(&m.customers).extend(won);
        Ok(fresh)
    }

    /// Gives back the round's customers (their work is written), so the next round, or
    /// another instance, takes them.
    pub(super) async fn unclaim(&self, partner_id: i64, m: &Membership) -> Result<(), sqlx::Error> {
        super::round::lock(&m.customers).clear();
        claims::unclaim(&self.db, partner_id, &self.holder).await
    }

    /// Leaves the partner's dispatch: claims, slots and membership go at once.
    pub(super) async fn leave(&self, partner_id: i64) {
        if let Err(e) = claims::leave(&self.db, partner_id, &self.holder).await {
            tracing::warn!(error = %e, partner_id, "could not give back this instance's dispatch claims (they lapse in seconds)");
        }
    }

    /// Stays a member of the partners other instances are working, so that they share
    /// their customers and slots with this one.
    pub(super) async fn announce(&self) -> Result<(), sqlx::Error> {
        let running: HashSet<i64> = super::round::lock(&self.running).clone();
        for partner_id in claims::partners_worked_elsewhere(&self.db, &self.holder, now_ms()).await? {
            if !running.contains(&partner_id) {
                claims::renew(&self.db, partner_id, &self.holder, self.until()).await?;
            }
        }
        Ok(())
    }
}
