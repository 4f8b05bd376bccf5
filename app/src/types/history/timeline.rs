//! A customer's timeline: everything that happened to one customer, newest first — the
//! runs that skipped or failed its records, its tickets, the usage billed to its
//! contracts and the changes made to its link.

use super::super::UnixMillis;
use super::{ChangeEntry, RunLine, RunRow};
use serde::{Deserialize, Serialize};

/// Items per timeline page.
pub const TIMELINE_PER_PAGE: usize = 50;

/// One thing that happened to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineItem {
    /// A run with the lines about this customer.
    Run {
        /// The run.
        run: RunRow,
        /// Its lines about this customer.
        lines: Vec<RunLine>,
    },
    /// A change made to the customer (its map link, its contract).
    Change(ChangeEntry),
    /// An incident and its ticket.
    Ticket(TicketStory),
    /// A quantity written to the customer's contract.
    Billed(BilledLine),
}

impl TimelineItem {
    /// When it happened (runs: when they ended; tickets: when the incident opened).
    pub fn at(&self) -> UnixMillis {
        match self {
            TimelineItem::Run { run, .. } => run.finished_at,
            TimelineItem::Change(c) => c.at,
            TimelineItem::Ticket(t) => t.opened_at,
            TimelineItem::Billed(b) => b.at,
        }
    }
}

/// An incident of the customer, from its first alert to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketStory {
    /// The incident.
    pub incident_id: i64,
    /// The device.
    pub device: String,
    /// The alert, in words.
    pub event: String,
    /// open, completed, closed_in_autotask, handed_off or failed.
    pub state: String,
    /// The Autotask ticket, once opened.
    pub ticket_number: Option<String>,
    /// When the first alert came.
    pub opened_at: UnixMillis,
    /// Alerts after the first.
    pub repeats: i64,
    /// When it ended.
    pub closed_at: Option<UnixMillis>,
    /// Why no ticket could be opened or updated, if so.
    pub problem: Option<String>,
}

/// A quantity a billing push wrote to the customer's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilledLine {
    /// The push.
    pub push_id: i64,
    /// When it was written.
    pub at: UnixMillis,
    /// The product, in words.
    pub product: String,
    /// Units before.
    pub before_units: Option<i64>,
    /// Units after.
    pub after_units: Option<i64>,
}

/// A page of a customer's timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The customer.
    pub customer_id: i64,
    /// Its name.
    pub customer_name: String,
    /// Newest first.
    pub items: Vec<TimelineItem>,
    /// Read on from before this time (the next, older page), if there is more.
    pub older: Option<UnixMillis>,
}
