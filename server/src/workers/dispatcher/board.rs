//! A round's bookkeeping: which lane has which events and open incidents while the
//! reader hands events out and the runner works them off, and the repeats the lanes
//! counted until they are written.

use super::round::lane_of;
use super::Dispatcher;
use crate::db::dispatch::{self, Incident, RepeatBatch};
use crate::db::now_ms;
use app::types::tickets::EventRow;
use std::collections::HashMap;
use std::time::Duration;

/// Buffered repeats of one incident (written in one statement per incident).
#[derive(Debug, Default)]
pub(super) struct Repeats {
    pub(super) event_ids: Vec<i64>,
    pub(super) last_event_at: i64,
    pub(super) ticket_id: Option<i64>,
    pub(super) ticket_number: Option<String>,
    pub(super) due_at: i64,
}

/// How long a round goes on reading events before it ends (for its notes, its holds,
/// and the claims' sake).
pub(super) const ROUND_FOR: Duration = Duration::from_secs(30);

/// Counted repeats written once this many are waiting.
pub(super) const FLUSH_AT: usize = 5_000;

/// A lane's events to handle, with its open incidents.
pub(super) struct Job {
    pub(super) key: String,
    pub(super) customer: i64,
    pub(super) open: HashMap<String, Incident>,
    pub(super) events: Vec<EventRow>,
}

/// One lane within a round.
#[derive(Default)]
struct LaneState {
    customer: i64,
    /// Its open incidents (away while it runs).
    open: HashMap<String, Incident>,
    /// Events read while it ran.
    queued: Vec<EventRow>,
    running: bool,
    /// It stopped on a failure: its later events wait for another round.
    failed: bool,
}

/// The round's lanes, shared by the reader and the runner.
#[derive(Default)]
pub(super) struct Board {
    lanes: HashMap<String, LaneState>,
    /// Events read and not yet handled.
    pub(super) in_hand: i64,
}

impl Board {
    /// Whether the lane has been seen this round (its open incidents are loaded).
    pub(super) fn knows(&self, key: &str) -> bool {
        self.lanes.contains_key(key)
    }

    /// Adds an event to its lane; a job when the lane should start now. A new lane
    /// takes its open incidents out of `open`.
    pub(super) fn add(&mut self, key: String, ev: EventRow, open: &mut HashMap<String, Incident>) -> Option<Job> {
        let lane = self.lanes.entry(key.clone()).or_insert_with(|| {
            let mine: Vec<String> = open.keys().filter(|k| lane_of(k).0 == key).cloned().collect();
            LaneState { customer: ev.customer_id, open: mine.into_iter().filter_map(|k| open.remove_entry(&k)).collect(), ..Default::default() }
        });
        if lane.failed {
            return None;
        }
        self.in_hand += 1;
        lane.queued.push(ev);
        if lane.running {
            return None;
        }
        lane.running = true;
        Some(Job { key, customer: lane.customer, open: std::mem::take(&mut lane.open), events: std::mem::take(&mut lane.queued) })
    }

    /// A lane's run of `ran` events ended; the next job for it, when events were read
    /// meanwhile (none after a failure: they wait for another round, in order).
    pub(super) fn finished(&mut self, key: &str, open: HashMap<String, Incident>, ran: usize, failed: bool) -> Option<Job> {
        self.in_hand -= ran as i64;
        let lane = self.lanes.get_mut(key)?;
        lane.open = open;
        lane.running = false;
        if failed {
            lane.failed = true;
            self.in_hand -= lane.queued.len() as i64;
            lane.queued.clear();
        }
        if lane.queued.is_empty() {
            return None;
        }
        lane.running = true;
        Some(Job { key: key.to_string(), customer: lane.customer, open: std::mem::take(&mut lane.open), events: std::mem::take(&mut lane.queued) })
    }
}

/// Adds counted repeats to `into`, an incident's to its earlier ones.
pub(super) fn merge_repeats(into: &mut HashMap<i64, Repeats>, from: HashMap<i64, Repeats>) {
    for (incident, r) in from {
        match into.entry(incident) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(r);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let e = o.get_mut();
                e.event_ids.extend(r.event_ids);
                e.last_event_at = e.last_event_at.max(r.last_event_at);
                e.due_at = e.due_at.min(r.due_at);
                e.ticket_id = r.ticket_id.or(e.ticket_id);
                e.ticket_number = r.ticket_number.or(e.ticket_number.take());
            }
        }
    }
}

/// Writes buffered repeats: counts on the incident, outcome on each event.
pub(super) async fn write_repeats(d: &Dispatcher, repeats: HashMap<i64, Repeats>) -> Result<(), sqlx::Error> {
    if repeats.is_empty() {
        return Ok(());
    }
    let notes: Vec<String> = repeats
        .values()
        .map(|r| {
            format!(
                "Repeat of the open incident: counted for the next note on ticket {}.",
                r.ticket_number.clone().or(r.ticket_id.map(|t| t.to_string())).unwrap_or_default()
            )
        })
        .collect();
    let batches: Vec<RepeatBatch<'_>> = repeats
        .iter()
        .zip(&notes)
        .map(|((incident_id, r), note)| RepeatBatch {
            incident_id: *incident_id,
            event_ids: &r.event_ids,
            last_event_at: r.last_event_at,
            due_at: r.due_at,
            ticket_id: r.ticket_id,
            ticket_number: r.ticket_number.as_deref(),
            note,
        })
        .collect();
    dispatch::record_repeats(&d.db, &batches, now_ms()).await
}
