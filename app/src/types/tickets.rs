//! Ticketing: ticket settings, Partner Notification rules and the event types. The
//! event log's shapes are in `events.rs`.

mod events;
mod rules;

pub use events::*;
pub use rules::*;

use super::UnixMillis;
use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// A kind of backup event (snake_case on the wire and in the database: `backup_failed`).
/// A recovery (`*_ok`, `agent_online`) completes the open incidents of the failures it
/// recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A backup failed.
    BackupFailed,
    /// A backup finished with warnings.
    BackupWarning,
    /// A backup succeeded.
    BackupOk,
    /// Archiving failed.
    ArchivingFailed,
    /// Archiving succeeded.
    ArchivingOk,
    /// Replication failed.
    ReplicationFailed,
    /// Replication succeeded.
    ReplicationOk,
    /// An appliance's hardware failed.
    ApplianceHardwareFailure,
    /// The appliance's hardware is healthy again.
    ApplianceHardwareOk,
    /// Storage is low.
    StorageLow,
    /// Storage is back above the threshold.
    StorageOk,
    /// The agent went offline.
    AgentOffline,
    /// The agent is back online.
    AgentOnline,
    /// Boot (screenshot) verification failed.
    ScreenshotVerificationFailed,
    /// Boot verification succeeded.
    ScreenshotVerificationOk,
    /// A restore failed.
    RestoreFailed,
    /// A restore succeeded.
    RestoreOk,
}

/// Every event type with its code and label, in the order lists show them.
pub const EVENT_TYPES: &[(EventType, &str, &str)] = &[
    (EventType::BackupFailed, "backup_failed", "Backup failed"),
    (EventType::BackupWarning, "backup_warning", "Backup finished with warnings"),
    (EventType::BackupOk, "backup_ok", "Backup succeeded"),
    (EventType::ArchivingFailed, "archiving_failed", "Archiving failed"),
    (EventType::ArchivingOk, "archiving_ok", "Archiving succeeded"),
    (EventType::ReplicationFailed, "replication_failed", "Replication failed"),
    (EventType::ReplicationOk, "replication_ok", "Replication succeeded"),
    (EventType::ApplianceHardwareFailure, "appliance_hardware_failure", "Appliance hardware failure"),
    (EventType::ApplianceHardwareOk, "appliance_hardware_ok", "Appliance hardware healthy"),
    (EventType::StorageLow, "storage_low", "Storage low"),
    (EventType::StorageOk, "storage_ok", "Storage back above threshold"),
    (EventType::AgentOffline, "agent_offline", "Agent offline"),
    (EventType::AgentOnline, "agent_online", "Agent back online"),
    (EventType::ScreenshotVerificationFailed, "screenshot_verification_failed", "Boot verification failed"),
    (EventType::ScreenshotVerificationOk, "screenshot_verification_ok", "Boot verification succeeded"),
    (EventType::RestoreFailed, "restore_failed", "Restore failed"),
    (EventType::RestoreOk, "restore_ok", "Restore succeeded"),
];

impl EventType {
    fn row(self) -> &'static (EventType, &'static str, &'static str) {
        // The table lists every variant, in declaration order.
        &EVENT_TYPES[self as usize]
    }

    /// The code (`backup_failed`).
    pub fn code(self) -> &'static str {
        self.row().1
    }

    /// The words (`Backup failed`).
    pub fn label(self) -> &'static str {
        self.row().2
    }

    /// The type with this code.
    pub fn parse(code: &str) -> Option<Self> {
        EVENT_TYPES.iter().find(|t| t.1 == code).map(|t| t.0)
    }

    /// The failures this type recovers (empty for a failure); a backup OK also clears
    /// backup warnings.
    pub fn recovers(self) -> &'static [EventType] {
        use EventType::*;
        match self {
            BackupOk => &[BackupFailed, BackupWarning],
            ArchivingOk => &[ArchivingFailed],
            ReplicationOk => &[ReplicationFailed],
            ApplianceHardwareOk => &[ApplianceHardwareFailure],
            StorageOk => &[StorageLow],
            AgentOnline => &[AgentOffline],
            ScreenshotVerificationOk => &[ScreenshotVerificationFailed],
            RestoreOk => &[RestoreFailed],
            _ => &[],
        }
    }

    /// The recovery that completes this failure's incidents (None for a recovery).
    pub fn recovered_by(self) -> Option<EventType> {
        EVENT_TYPES.iter().map(|t| t.0).find(|r| r.recovers().contains(&self))
    }

    /// Whether the type is a recovery (an OK event).
    pub fn is_recovery(self) -> bool {
        !self.recovers().is_empty()
    }

    /// The failure types (what a rule's event-type choice lists).
    pub fn failures() -> impl Iterator<Item = EventType> {
        EVENT_TYPES.iter().map(|t| t.0).filter(|t| !t.is_recovery())
    }
}

/// The label of an event type's code (the code itself when unknown).
pub fn event_label(code: &str) -> &str {
    match EventType::parse(code) {
        Some(t) => t.label(),
        None => code,
    }
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
        use EventType::*;
        assert_eq!(BackupOk.recovers(), [BackupFailed, BackupWarning]);
        assert_eq!(AgentOnline.recovers(), [AgentOffline]);
        assert!(BackupFailed.recovers().is_empty());
        assert!(StorageOk.is_recovery() && !StorageLow.is_recovery());
        for (t, code, _) in EVENT_TYPES {
            assert_eq!(EventType::parse(code), Some(*t), "the table is in declaration order");
            assert_eq!(serde_json::to_value(t).unwrap(), *code, "the wire uses the code");
            assert!(t.recovers().iter().all(|f| !f.is_recovery()), "{code} recovers failures only");
        }
        assert_eq!(EventType::failures().count(), 9);
        assert_eq!(event_label("backup_ok"), "Backup succeeded");
        assert_eq!(event_label("nope"), "nope");
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
