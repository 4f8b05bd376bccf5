//! The repeat notes that are due at the end of a round, several at once (customers
//! held back wait), also while events wait.

use super::round::{lane_of, Done, Lane, Shared};
use super::Pause;
use crate::db::dispatch::{self, Incident};
use crate::db::now_ms;
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use std::time::Duration;

impl Shared<'_> {
    /// The notes whose interval has passed (customers held back wait), several at
    /// once, also while events wait (at most 100 a round, so a batch of events follows).
    /// Returns true when more may be due.
    pub(super) async fn notes_due(&self, held: &HashMap<i64, i64>) -> Result<bool, Pause> {
        let mut due = dispatch::notes_due(&self.d.db, self.partner_id, &self.d.holder, now_ms()).await?;
        if self.d.claim(self.partner_id, self.membership, due.iter().map(|i| lane_of(&i.key).1)).await? {
            // Another instance may have noted some since they were read.
            due = dispatch::notes_due(&self.d.db, self.partner_id, &self.d.holder, now_ms()).await?;
        }
        let more = due.len() >= 100;
        due.retain(|i| self.membership.holds(lane_of(&i.key).1));
        if due.is_empty() {
            return Ok(more);
        }
        let done: Vec<Done> = stream::iter(due)
            .map(|inc| async move { (lane_of(&inc.key).1, self.note(inc).await) })
            .buffer_unordered(self.d.opts.lanes.max(1))
            .collect()
            .await;
        self.settle(done, held).await?;
        Ok(more)
    }

    /// One incident's repeat note, retried through a blip.
    async fn note(&self, inc: Incident) -> Result<bool, Pause> {
        if self.d.is_stopped() || !self.membership.valid() {
            return Ok(false);
        }
        let mut lane = Lane { s: self, open: HashMap::new(), repeats: HashMap::new(), now: now_ms() };
        let mut attempt = 0u32;
        loop {
            match lane.repeat_note(inc.clone()).await {
                Ok(()) => return Ok(true),
                Err(p) if !p.config && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(150 << attempt)).await;
                }
                Err(p) => return Err(p),
            }
        }
    }
}
