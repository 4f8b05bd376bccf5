//! Ticketing: ticket settings, Partner Notification rules and the event types. The
//! event log's shapes are in `events.rs`.

mod events;

pub use events::*;

use super::UnixMillis;
use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// The event types the backup platform sends: (code, label, the failure it recovers).
/// A recovery (`*_ok`, `agent_online`) completes the open incident of its failure type.
pub const EVENT_TYPES: &[(&str, &str, Option<&str>)] = &[
    ("backup_failed", "Backup failed", None),
    ("backup_warning", "Backup finished with warnings", None),
    ("backup_ok", "Backup succeeded", Some("backup_failed")),
    ("archiving_failed", "Archiving failed", None),
    ("archiving_ok", "Archiving succeeded", Some("archiving_failed")),
    ("replication_failed", "Replication failed", None),
    ("replication_ok", "Replication succeeded", Some("replication_failed")),
    ("appliance_hardware_failure", "Appliance hardware failure", None),
    ("appliance_hardware_ok", "Appliance hardware healthy", Some("appliance_hardware_failure")),
    ("storage_low", "Storage low", None),
    ("storage_ok", "Storage back above threshold", Some("storage_low")),
    ("agent_offline", "Agent offline", None),
    ("agent_online", "Agent back online", Some("agent_offline")),
    ("screenshot_verification_failed", "Boot verification failed", None),
    ("screenshot_verification_ok", "Boot verification succeeded", Some("screenshot_verification_failed")),
    ("restore_failed", "Restore failed", None),
    ("restore_ok", "Restore succeeded", Some("restore_failed")),
];

/// The label of an event type (the code itself when unknown).
pub fn event_label(code: &str) -> &str {
    EVENT_TYPES.iter().find(|t| t.0 == code).map_or(code, |t| t.1)
}

/// Whether the type is a recovery (an OK event).
pub fn is_recovery(code: &str) -> bool {
    EVENT_TYPES.iter().any(|t| t.0 == code && t.2.is_some())
}

/// The failure types a recovery type completes (a backup OK also clears backup warnings).
pub fn recovers(code: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = EVENT_TYPES.iter().filter(|t| t.0 == code).filter_map(|t| t.2).collect();
    if code == "backup_ok" {
        out.push("backup_warning");
    }
    out
}

/// The failure types (what a rule's event-type choice lists).
pub fn failure_types() -> impl Iterator<Item = &'static (&'static str, &'static str, Option<&'static str>)> {
    EVENT_TYPES.iter().filter(|t| t.2.is_none())
}

/// Default labels looked up in the partner's picklists when nothing else is chosen.
pub const DEFAULT_QUEUE: &str = "Managed Services Alerts";
/// Default priority label.
pub const DEFAULT_PRIORITY: &str = "Medium";
/// Default status of new tickets.
pub const DEFAULT_STATUS_NEW: &str = "New";
/// Default status of completed tickets.
pub const DEFAULT_STATUS_COMPLETE: &str = "Complete";

/// A picklist choice: the Autotask value id and its label. `id: None` means "the value
/// with this label", resolved in the partner's picklist when tickets are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Choice {
    /// The picklist value.
    pub id: Option<i64>,
    /// Its label.
    pub label: String,
}

/// The partner's ticket settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TicketSettings {
    /// Put before every ticket title (optional).
    pub subject_prefix: String,
    /// "Do not map": no tickets at all, even when rules exist.
    pub do_not_map: bool,
    /// The queue.
    pub queue: Choice,
    /// The priority.
    pub priority: Choice,
    /// Status of new tickets.
    pub status_new: Choice,
    /// Status Taskbridge sets when the backup recovers.
    pub status_complete: Choice,
    /// At most one note per incident per this many minutes.
    pub note_interval_minutes: i64,
    /// Last saved (None: never saved, defaults apply).
    pub updated_at: Option<UnixMillis>,
    /// Who saved them.
    pub updated_by: Option<String>,
}

impl TicketSettings {
    /// The defaults of a partner that never saved any.
    pub fn defaults() -> Self {
        let c = |l: &str| Choice { id: None, label: l.to_string() };
        Self {
            subject_prefix: String::new(),
            do_not_map: false,
            queue: c(DEFAULT_QUEUE),
            priority: c(DEFAULT_PRIORITY),
            status_new: c(DEFAULT_STATUS_NEW),
            status_complete: c(DEFAULT_STATUS_COMPLETE),
            note_interval_minutes: 15,
            updated_at: None,
            updated_by: None,
        }
    }

    /// Checks what a person typed; the error names the field.
    pub fn validate(&mut self) -> Result<(), AppError> {
        self.subject_prefix = self.subject_prefix.trim().to_string();
        if self.subject_prefix.chars().count() > 40 {
            return Err(AppError::invalid("subject_prefix", "Keep the subject prefix to 40 characters or fewer (Autotask titles hold 255)."));
        }
        for (field, choice, what) in [
            ("queue", &self.queue, "a queue"),
            ("priority", &self.priority, "a priority"),
            ("status_new", &self.status_new, "a status for new tickets"),
            ("status_complete", &self.status_complete, "a status for completed tickets"),
        ] {
            if field == "queue" && self.do_not_map {
                continue;
            }
            if choice.label.trim().is_empty() && choice.id.is_none() {
                return Err(AppError::invalid(field, format!("Choose {what} (use Retrieve to list your Autotask values).")));
            }
        }
        if self.status_new.id.is_some() && self.status_new.id == self.status_complete.id {
            return Err(AppError::invalid("status_complete", "The completed status must differ from the status of new tickets."));
        }
        if !(0..=1440).contains(&self.note_interval_minutes) {
            return Err(AppError::invalid("note_interval_minutes", "The note interval is between 0 and 1,440 minutes (a day)."));
        }
        Ok(())
    }
}

/// One active picklist value, as offered in a drop-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickOption {
    /// Value id.
    pub id: i64,
    /// Label.
    pub label: String,
    /// Autotask's default for new records.
    pub is_default: bool,
}

/// The partner's ticket picklists, read live from Autotask (inactive values left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TicketPicklists {
    /// Queues.
    pub queues: Vec<PickOption>,
    /// Priorities.
    pub priorities: Vec<PickOption>,
    /// Ticket statuses.
    pub statuses: Vec<PickOption>,
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Open an Autotask ticket.
    #[default]
    Ticket,
    /// Synchronize with Autotask (billing).
    Sync,
}

impl RuleAction {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Sync => "sync",
        }
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ticket => "Open an Autotask ticket",
            Self::Sync => "Synchronize with Autotask",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ticket" => Some(Self::Ticket),
            "sync" => Some(Self::Sync),
            _ => None,
        }
    }
}

/// A rule as created or edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInput {
    /// What it does.
    pub action: RuleAction,
    /// OK events open (informational) tickets too. Default No.
    pub subscribe_ok: bool,
    /// Every event type. Default Yes.
    pub all_types: bool,
    /// The chosen failure types when `all_types` is false.
    pub event_types: Vec<String>,
    /// Only these customers (empty: every customer).
    pub customer_ids: Vec<i64>,
    /// Complete the ticket when the backup recovers. Default Yes.
    pub complete_on_recovery: bool,
}

impl Default for RuleInput {
    fn default() -> Self {
        Self {
            action: RuleAction::Ticket,
            subscribe_ok: false,
            all_types: true,
            event_types: Vec::new(),
            customer_ids: Vec::new(),
            complete_on_recovery: true,
        }
    }
}

impl RuleInput {
    /// Checks the choices; the error names the field.
    pub fn validate(&mut self) -> Result<(), AppError> {
        self.event_types.sort();
        self.event_types.dedup();
        self.customer_ids.sort_unstable();
        self.customer_ids.dedup();
        if let Some(bad) = self.event_types.iter().find(|t| !EVENT_TYPES.iter().any(|e| e.0 == t.as_str())) {
            return Err(AppError::invalid("event_types", format!("Unknown event type \u{201c}{bad}\u{201d}.")));
        }
        if !self.all_types && self.event_types.is_empty() {
            return Err(AppError::invalid("event_types", "Choose at least one event type, or subscribe to all event types."));
        }
        if self.all_types {
            self.event_types.clear();
        }
        if self.customer_ids.len() > 5_000 {
            return Err(AppError::invalid("customer_ids", "Limit a rule to at most 5,000 customers, or apply it to all."));
        }
        Ok(())
    }
}

/// A saved rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRule {
    /// Id.
    pub rule_id: i64,
    /// The choices.
    pub input: RuleInput,
    /// Names of the limited-to customers, in `input.customer_ids` order.
    pub customer_names: Vec<String>,
    /// Created.
    pub created_at: UnixMillis,
    /// By whom.
    pub created_by: String,
}

/// A customer offered by the rule form's customer picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerChoice {
    /// Id.
    pub customer_id: i64,
    /// Name.
    pub name: String,
    /// Linked to an Autotask company (tickets can be sent).
    pub mapped: bool,
}

/// The outcome of "Send test ticket".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestTicket {
    /// Whether every step worked.
    pub ok: bool,
    /// What was done, step by step (or what failed and why).
    pub steps: Vec<String>,
    /// The ticket, when one was created.
    pub ticket_id: Option<i64>,
    /// Its number.
    pub ticket_number: Option<String>,
    /// A link to it in Autotask.
    pub link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recoveries_name_their_failures() {
        assert_eq!(recovers("backup_ok"), vec!["backup_failed", "backup_warning"]);
        assert_eq!(recovers("agent_online"), vec!["agent_offline"]);
        assert!(recovers("backup_failed").is_empty());
        assert!(is_recovery("storage_ok") && !is_recovery("storage_low"));
        for (_, _, of) in EVENT_TYPES {
            if let Some(f) = of {
                assert!(EVENT_TYPES.iter().any(|t| t.0 == *f && t.2.is_none()), "{f}");
            }
        }
    }

    #[test]
    fn rules_need_a_type_when_not_all() {
        let mut r = RuleInput { all_types: false, ..RuleInput::default() };
        assert!(r.validate().unwrap_err().field_message("event_types").is_some());
        r.event_types = vec!["backup_failed".into(), "backup_failed".into()];
        r.validate().unwrap();
        assert_eq!(r.event_types, vec!["backup_failed"]);
        r.event_types = vec!["nope".into()];
        assert!(r.validate().is_err());
    }

    #[test]
    fn settings_are_checked() {
        let mut s = TicketSettings::defaults();
        s.validate().unwrap();
        s.note_interval_minutes = -1;
        assert!(s.validate().unwrap_err().field_message("note_interval_minutes").is_some());
        let mut s = TicketSettings::defaults();
        s.queue = Choice::default();
        assert!(s.validate().unwrap_err().field_message("queue").is_some());
        s.do_not_map = true;
        s.validate().unwrap();
    }
}
