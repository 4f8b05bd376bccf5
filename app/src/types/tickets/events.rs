//! The event log: what was done with each backup event, the log's filters and pages,
//! and links to tickets in Autotask.

use crate::types::UnixMillis;
use serde::{Deserialize, Serialize};

/// What was done with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Waiting for the dispatcher.
    #[default]
    Pending,
    /// Opened a ticket.
    Opened,
    /// A repeat, to be added to the ticket's next note.
    Coalesced,
    /// A repeat, added to the ticket in a note.
    Noted,
    /// Completed the ticket.
    Completed,
    /// Kept but not sent (the reason is in the note).
    NotSent,
    /// No rule asked for it.
    Ignored,
    /// Autotask refused it (the reason is in the note).
    Failed,
}

impl Outcome {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Opened => "opened",
            Self::Coalesced => "coalesced",
            Self::Noted => "noted",
            Self::Completed => "completed",
            Self::NotSent => "not_sent",
            Self::Ignored => "ignored",
            Self::Failed => "failed",
        }
    }

    /// Every outcome, for filters.
    pub const ALL: [Outcome; 8] =
        [Self::Pending, Self::Opened, Self::Coalesced, Self::Noted, Self::Completed, Self::NotSent, Self::Ignored, Self::Failed];

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Opened => "Ticket opened",
            Self::Coalesced => "Repeat (note due)",
            Self::Noted => "Note added",
            Self::Completed => "Ticket completed",
            Self::NotSent => "Not sent",
            Self::Ignored => "No rule",
            Self::Failed => "Failed",
        }
    }
}

/// Event log filters and page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Customer name, device, event id or ticket number.
    pub search: String,
    /// One event type, or empty.
    pub event_type: String,
    /// ok / warning / error, or empty.
    pub severity: String,
    /// One outcome, or empty.
    pub outcome: String,
    /// 1-based.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl Default for EventQuery {
    fn default() -> Self {
        Self { search: String::new(), event_type: String::new(), severity: String::new(), outcome: String::new(), page: 1, per_page: 50 }
    }
}

/// One event in the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// Taskbridge's id.
    pub event_id: i64,
    /// The sender's id.
    pub external_id: String,
    /// Customer.
    pub customer_id: i64,
    /// Customer name.
    pub customer_name: String,
    /// Device.
    pub device: String,
    /// Job.
    pub job: String,
    /// Type code.
    pub event_type: String,
    /// ok / warning / error.
    pub severity: String,
    /// Message.
    pub message: String,
    /// When it happened.
    pub occurred_at: UnixMillis,
    /// When Taskbridge stored it.
    pub received_at: UnixMillis,
    /// What was done.
    pub outcome: Outcome,
    /// Why / details.
    pub note: Option<String>,
    /// The ticket.
    pub ticket_id: Option<i64>,
    /// Its number.
    pub ticket_number: Option<String>,
    /// The History run whose failed events were sent back to the queue with this one
    /// (Retry failed).
    #[serde(default)]
    pub retry_of: Option<i64>,
}

/// A page of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventPage {
    /// Rows, newest first.
    pub rows: Vec<EventRow>,
    /// Matching rows.
    pub total: i64,
    /// Page.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Events still waiting for the dispatcher (all of the partner's).
    pub pending: i64,
    /// Why dispatch is paused, if it is.
    pub problem: Option<String>,
    /// When it tries again.
    pub retry_at: Option<UnixMillis>,
    /// Since when it has been failing.
    pub paused_since: Option<UnixMillis>,
    /// Customers held back on their own while the others' tickets go through.
    pub held: Vec<HeldCustomer>,
    /// The Autotask web UI, for ticket links.
    pub autotask_web_url: Option<String>,
}

/// A customer whose ticket work keeps failing, held back with its own backoff so it
/// does not hold up the partner's other customers. Its events wait; none are lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HeldCustomer {
    /// The customer.
    pub customer_id: i64,
    /// Its name.
    pub customer: String,
    /// The last failure.
    pub reason: String,
    /// Held since.
    pub since: UnixMillis,
    /// The next try.
    pub retry_at: UnixMillis,
}

/// Ticket dispatch in brief, for the Overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DispatchSummary {
    /// Events waiting.
    pub pending: i64,
    /// Why dispatch is paused, if it is.
    pub problem: Option<String>,
    /// Since when.
    pub paused_since: Option<UnixMillis>,
    /// Customers held back on their own.
    pub held: i64,
}

/// A link to a ticket in the Autotask web UI.
pub fn ticket_link(web_url: &Option<String>, ticket_id: i64) -> Option<String> {
    web_url
        .as_ref()
        .filter(|u| !u.is_empty())
        .map(|base| format!("{}/Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID={ticket_id}", base.trim_end_matches('/')))
}
