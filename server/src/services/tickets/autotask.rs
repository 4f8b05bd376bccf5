//! What a backup event's ticket looks like in Autotask, shared by the dispatcher and
//! "Send test ticket" so a test ticket looks exactly like a real one: the settings
//! resolved against the partner's picklists, the ticket's title and body, the note
//! written once, and how to tell that a technician took a ticket over.

use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::error::AutotaskError;
use crate::autotask::query::{Filter, Query};
use app::types::tickets::{event_label, Choice, PickOption, TicketPicklists, TicketSettings};
use serde_json::{json, Value};

/// The `externalID` of an incident's ticket: the retry after a crash finds it by this.
pub fn external_id(incident_id: i64) -> String {
    format!("taskbridge-incident-{incident_id}")
}

/// The settings turned into the values written on tickets.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Title prefix (with a trailing space when set).
    pub prefix: String,
    /// Queue.
    pub queue_id: i64,
    /// Priority.
    pub priority_id: i64,
    /// Status of new tickets.
    pub status_new: i64,
    /// Status set on recovery.
    pub status_complete: i64,
}

/// Queues, priorities and statuses of the partner's Autotask (every value, active or not).
pub async fn fetch_picklists(client: &AutotaskClient) -> Result<TicketPicklists, AutotaskError> {
    let fields = client.fields("Tickets").await?;
    let pick = |name: &str| -> Vec<PickOption> {
        let mut values = fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).and_then(|f| f.picklist_values.clone()).unwrap_or_default();
        values.sort_by_key(|v| v.sort_order);
        values
            .into_iter()
            .filter(|v| v.is_active)
            .filter_map(|v| Some(PickOption { id: v.value.trim().parse().ok()?, label: v.label, is_default: v.is_default_value }))
            .collect()
    };
    Ok(TicketPicklists { queues: pick("queueID"), priorities: pick("priority"), statuses: pick("status") })
}

/// Why settings could not be turned into ticket values.
#[derive(Debug, Clone)]
pub enum ResolveError {
    /// The queue is "Do not map".
    DoNotMap,
    /// A chosen label is not an active value in the partner's picklist.
    Missing(String),
}

/// Resolves label-only choices (the defaults) against the active picklist values.
pub fn resolve(settings: &TicketSettings, lists: &TicketPicklists) -> Result<Resolved, ResolveError> {
    if settings.do_not_map {
        return Err(ResolveError::DoNotMap);
    }
    let find = |choice: &Choice, list: &[PickOption], what: &str| -> Result<i64, ResolveError> {
        if let Some(id) = choice.id {
            return Ok(id);
        }
        list.iter().find(|o| o.label.trim().eq_ignore_ascii_case(choice.label.trim())).map(|o| o.id).ok_or_else(|| {
            ResolveError::Missing(format!(
                "Your Autotask has no active {what} named \u{201c}{}\u{201d}. Choose one under Ticket settings on the Setup page (Retrieve lists yours).",
                choice.label
            ))
        })
    };
    Ok(Resolved {
        prefix: if settings.subject_prefix.is_empty() { String::new() } else { format!("{} ", settings.subject_prefix) },
        queue_id: find(&settings.queue, &lists.queues, "queue")?,
        priority_id: find(&settings.priority, &lists.priorities, "priority")?,
        status_new: find(&settings.status_new, &lists.statuses, "ticket status")?,
        status_complete: find(&settings.status_complete, &lists.statuses, "ticket status")?,
    })
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('\u{2026}');
        out
    }
}

/// What a ticket is about.
#[derive(Debug, Clone)]
pub struct TicketFacts<'a> {
    /// Customer name.
    pub customer: &'a str,
    /// Device.
    pub device: &'a str,
    /// Job (may be empty).
    pub job: &'a str,
    /// Event type code.
    pub event_type: &'a str,
    /// Severity.
    pub severity: &'a str,
    /// The platform's message.
    pub message: &'a str,
    /// When it happened.
    pub occurred_at: i64,
    /// The sender's event id.
    pub event_ref: &'a str,
}

/// The title: `[prefix ]Customer: Backup failed on FS01`.
pub fn ticket_title(r: &Resolved, f: &TicketFacts<'_>) -> String {
    clip(&format!("{}{}: {} on {}", r.prefix, f.customer, event_label(f.event_type), f.device), 255)
}

/// The create body of an incident's ticket.
pub fn ticket_body(r: &Resolved, company_id: i64, incident_id: i64, f: &TicketFacts<'_>, interval_minutes: i64, now: i64) -> Value {
    let job = if f.job.is_empty() { String::new() } else { format!(" (job {})", f.job) };
    let description = format!(
        "{label} on {device}{job} for {customer}.\n\nMessage: {message}\nSeverity: {severity}\nFirst occurred: {at}\nEvent: {event}\n\n\
         Taskbridge keeps one ticket per incident (customer + device + event type): repeats are added as notes at most every {interval} minutes, \
         and the ticket is completed when the device reports {label_lower} has recovered. Incident: {external}.",
        label = event_label(f.event_type),
        label_lower = event_label(f.event_type).to_lowercase(),
        device = f.device,
        customer = f.customer,
        message = if f.message.is_empty() { "(none)" } else { f.message },
        severity = f.severity,
        at = app::format::utc_minutes(f.occurred_at),
        event = f.event_ref,
        interval = interval_minutes,
        external = external_id(incident_id),
    );
    json!({
        "companyID": company_id,
        "title": ticket_title(r, f),
        "description": clip(&description, 8000),
        "queueID": r.queue_id,
        "priority": r.priority_id,
        "status": r.status_new,
        "externalID": external_id(incident_id),
        // Some tenants require a due date on every new ticket.
        "dueDateTime": app::format::iso_utc(now + 24 * 3_600_000),
    })
}

/// Whether someone in Autotask completed the ticket.
pub fn completed_in_autotask(t: &Ticket, r: &Resolved) -> bool {
    t.completed_date.is_some() || t.status == Some(r.status_complete)
}

/// Whether a technician took the ticket over (a new status or an assignee).
pub fn taken_over(t: &Ticket, created_status: Option<i64>) -> bool {
    t.assigned_resource_id.is_some() || (created_status.is_some() && t.status != created_status)
}

/// Whether the ticket has a note carrying `marker` (a write whose answer was lost).
pub async fn note_exists(client: &AutotaskClient, ticket_id: i64, marker: &str) -> Result<bool, AutotaskError> {
    let found = client
        .query_all_raw("TicketNotes", &Query::new([Filter::eq("ticketID", ticket_id), Filter::contains("description", marker)]).include(&["id"]))
        .await?;
    Ok(!found.is_empty())
}

/// Adds a note unless one carrying `marker` is already there (a retry after a lost
/// answer). Returns whether a note was written now.
pub async fn note_once(
    client: &AutotaskClient,
    ticket_id: i64,
    marker: &str,
    retrying: bool,
    title: &str,
    text: &str,
) -> Result<bool, AutotaskError> {
    if retrying && note_exists(client, ticket_id, marker).await? {
        return Ok(false);
    }
    let body = json!({"ticketID": ticket_id, "title": clip(title, 250), "description": clip(&format!("{text}\n\nReference: {marker}"), 3_200), "noteType": 1, "publish": 1});
    client.create_child("Tickets", ticket_id, "Notes", "TicketNotes", &body).await?;
    Ok(true)
}
