//! What a backup event's ticket looks like in Autotask, shared by the dispatcher and
//! "Send test ticket" so a test ticket looks exactly like a real one: the settings
//! resolved against the partner's picklists, the ticket's title and body, the note
//! written once, and how to tell that a technician took a ticket over.

use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::error::AutotaskError;
use crate::autotask::query::{Filter, Query};
use app::types::tickets::{event_label, Choice, EventType, PickOption, TicketPicklists, TicketSettings};
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
    let description = ticket_description(f, interval_minutes, &external_id(incident_id));
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

/// The ticket's description, as a technician would write it.
fn ticket_description(f: &TicketFacts<'_>, interval_minutes: i64, external: &str) -> String {
    let job = if f.job.is_empty() { String::new() } else { format!(" (job {})", f.job) };
    let recovery = match EventType::parse(f.event_type).and_then(EventType::recovered_by) {
        Some(ok) => format!(" and the ticket is completed when {} reports \u{201c}{}\u{201d}", f.device, ok.label()),
        None => String::new(),
    };
    format!(
        "{opening}\n\nMessage: {message}\nSeverity: {severity}\nFirst occurred: {at}\nEvent: {event}\n\n\
         Taskbridge keeps one ticket per incident (customer + device + event type): repeats are added as notes {interval}{recovery}. \
         Incident: {external}.",
        opening = sentence(&format!("{} on {}{job} for {}", event_label(f.event_type), f.device, f.customer)),
        message = if f.message.is_empty() { "(none)" } else { f.message },
        severity = f.severity,
        at = app::format::utc_minutes(f.occurred_at),
        event = f.event_ref,
        interval = note_interval(interval_minutes),
    )
}

/// `text` ended with a full stop, unless it already ends a sentence ("L.L.C.").
pub fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// How often repeat notes are written, in words.
fn note_interval(minutes: i64) -> String {
    match minutes {
        ..=0 => "as they arrive".into(),
        1 => "at most once a minute".into(),
        60 => "at most once an hour".into(),
        m if m % 60 == 0 => format!("at most every {} hours", m / 60),
        m => format!("at most every {m} minutes"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(customer: &'a str, event_type: &'a str, job: &'a str) -> TicketFacts<'a> {
        TicketFacts {
            customer,
            device: "FS01",
            job,
            event_type,
            severity: "error",
            message: "VSS snapshot failed.",
            occurred_at: 1_795_000_000_000,
            event_ref: "ev-1",
        }
    }

    #[test]
    fn a_name_ending_in_a_period_gets_no_second_one() {
        let text = ticket_description(&facts("Zenith Redwood L.L.C.", "backup_failed", ""), 60, "x");
        assert!(text.starts_with("Backup failed on FS01 for Zenith Redwood L.L.C.\n"), "{text}");
        let text = ticket_description(&facts("Acme Dental", "backup_failed", "Nightly"), 60, "x");
        assert!(text.starts_with("Backup failed on FS01 (job Nightly) for Acme Dental.\n"), "{text}");
    }

    #[test]
    fn the_note_interval_reads_in_words_singular_and_plural() {
        assert_eq!(note_interval(0), "as they arrive");
        assert_eq!(note_interval(1), "at most once a minute");
        assert_eq!(note_interval(15), "at most every 15 minutes");
        assert_eq!(note_interval(60), "at most once an hour");
        assert_eq!(note_interval(120), "at most every 2 hours");
        assert_eq!(note_interval(90), "at most every 90 minutes");
    }

    #[test]
    fn every_failure_names_the_event_that_completes_its_ticket() {
        for failure in EventType::failures() {
            let text = ticket_description(&facts("Acme Dental", failure.code(), ""), 1, "x");
            let ok = failure.recovered_by().unwrap_or_else(|| panic!("{failure:?} has no recovery"));
            assert!(text.contains(&format!("completed when FS01 reports \u{201c}{}\u{201d}.", ok.label())), "{text}");
            assert!(!text.contains("..") && !text.contains("(s)") && !text.contains("has recovered"), "{text}");
        }
        assert_eq!(EventType::BackupWarning.recovered_by(), Some(EventType::BackupOk));
        assert_eq!(EventType::BackupOk.recovered_by(), None);
    }

    #[test]
    fn a_sentence_ends_once() {
        assert_eq!(sentence("Done"), "Done.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence("Really?"), "Really?");
    }
}
