//! History (SPEC capability 8): every run of the partner's integrations with its outcome,
//! counts and the records it skipped or failed, and the settings changes beside them.

mod api_usage;
mod changes;
mod timeline;
mod views;

pub use api_usage::*;
pub use changes::*;
pub use timeline::*;
pub use views::*;

use super::UnixMillis;
use serde::{Deserialize, Serialize};

/// What a run did. The stored form of the five background jobs is their `JobKind`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunKind {
    /// Companies fetched from Autotask.
    Discover,
    /// Customers created from companies.
    Import,
    /// Contacts fetched from Autotask.
    ContactFetch,
    /// Backup users created from contacts.
    ContactImport,
    /// A customer and contract sync round.
    Sync,
    /// Autotask webhook callouts applied (the companies they named, re-read).
    Webhook,
    /// Tickets opened, noted, completed or not sent from backup events (a dispatch round).
    Tickets,
    /// Customer Map changes saved (links, contracts, customers created).
    MapSave,
    /// A billing push (usage written to contracts).
    Push,
    /// A billing push undone.
    Undo,
    /// The Autotask connection tested.
    ConnectionTest,
    /// A test ticket sent.
    TestTicket,
}

impl RunKind {
    /// Every kind, in the order the filter lists them.
    pub const ALL: [RunKind; 12] = [
        RunKind::Discover,
        RunKind::Import,
        RunKind::ContactFetch,
        RunKind::ContactImport,
        RunKind::Sync,
        RunKind::Webhook,
        RunKind::Tickets,
        RunKind::MapSave,
        RunKind::Push,
        RunKind::Undo,
        RunKind::ConnectionTest,
        RunKind::TestTicket,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Discover => "discover",
            RunKind::Import => "import",
            RunKind::ContactFetch => "contact_fetch",
            RunKind::ContactImport => "contact_import",
            RunKind::Sync => "sync",
            RunKind::Webhook => "webhook",
            RunKind::Tickets => "tickets",
            RunKind::MapSave => "map_save",
            RunKind::Push => "push",
            RunKind::Undo => "push_undo",
            RunKind::ConnectionTest => "connection_test",
            RunKind::TestTicket => "test_ticket",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            RunKind::Discover => "Company discovery",
            RunKind::Import => "Company import",
            RunKind::ContactFetch => "Contact fetch",
            RunKind::ContactImport => "Contact import",
            RunKind::Sync => "Customer and contract sync",
            RunKind::Webhook => "Webhook delivery",
            RunKind::Tickets => "Ticket actions",
            RunKind::MapSave => "Customer Map save",
            RunKind::Push => "Billing push",
            RunKind::Undo => "Billing undo",
            RunKind::ConnectionTest => "Connection test",
            RunKind::TestTicket => "Test ticket",
        }
    }

    /// Whether "Retry failed" can re-run just a run's failed records.
    pub fn retryable(self) -> bool {
        matches!(self, RunKind::Import | RunKind::ContactImport | RunKind::Push | RunKind::Sync | RunKind::Webhook | RunKind::Tickets)
    }

    /// Whether a retry takes the records it skipped too: a company the sync left alone
    /// waits for a fix (the right customer linked), then a retry.
    pub fn retries_skipped(self) -> bool {
        matches!(self, RunKind::Sync | RunKind::Webhook)
    }

    /// The page where the run's own records live: its path and its name.
    pub fn page(self) -> (&'static str, &'static str) {
        match self {
            RunKind::Discover | RunKind::Import => ("/companies", "Companies"),
            RunKind::ContactFetch | RunKind::ContactImport => ("/contacts", "Contacts"),
            RunKind::Sync | RunKind::Webhook => ("/clients", "Clients"),
            RunKind::Tickets => ("/events", "Event log"),
            RunKind::MapSave => ("/map", "Customer Map"),
            RunKind::Push | RunKind::Undo => ("/billing", "Billing"),
            RunKind::ConnectionTest => ("/setup", "Setup"),
            RunKind::TestTicket => ("/notifications", "Notifications"),
        }
    }
}

impl From<super::companies::JobKind> for RunKind {
    fn from(kind: super::companies::JobKind) -> Self {
        use super::companies::JobKind;
        match kind {
            JobKind::Discover => RunKind::Discover,
            JobKind::Import => RunKind::Import,
            JobKind::ContactFetch => RunKind::ContactFetch,
            JobKind::ContactImport => RunKind::ContactImport,
            JobKind::Sync => RunKind::Sync,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunOutcome {
    /// Everything it tried worked.
    Ok,
    /// It finished, but some records failed.
    Partial,
    /// It stopped, or nothing it tried worked.
    Failed,
}

impl RunOutcome {
    /// Every outcome.
    pub const ALL: [RunOutcome; 3] = [RunOutcome::Ok, RunOutcome::Partial, RunOutcome::Failed];

    /// The outcome of a run that finished (`stopped`: it ended early with an error).
    pub fn of(stopped: bool, done: i64, failed: i64) -> Self {
        match (stopped, done, failed) {
            (true, _, _) => RunOutcome::Failed,
            (false, _, 0) => RunOutcome::Ok,
            (false, 0, _) => RunOutcome::Failed,
            (false, _, _) => RunOutcome::Partial,
        }
    }

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            RunOutcome::Ok => "OK",
            RunOutcome::Partial => "Partly failed",
            RunOutcome::Failed => "Failed",
        }
    }
}

/// Who or what started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    /// A signed-in user.
    User,
    /// A schedule (billing, sync polling).
    Schedule,
    /// A machine API token.
    Token,
    /// An Autotask webhook.
    Webhook,
    /// Taskbridge itself.
    System,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 5] = [Trigger::User, Trigger::Schedule, Trigger::Token, Trigger::Webhook, Trigger::System];

    /// The trigger an actor string stands for ("alice@example.com", "schedule",
    /// "api token NAME", "webhook", "system").
    pub fn of_actor(actor: &str) -> Self {
        match actor {
            "schedule" => Trigger::Schedule,
            "system" => Trigger::System,
            a if a.starts_with("webhook") => Trigger::Webhook,
            a if a.starts_with("api token ") => Trigger::Token,
            _ => Trigger::User,
        }
    }

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::User => "user",
            Trigger::Schedule => "schedule",
            Trigger::Token => "token",
            Trigger::Webhook => "webhook",
            Trigger::System => "system",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::User => "A user",
            Trigger::Schedule => "The schedule",
            Trigger::Token => "An API token",
            Trigger::Webhook => "An Autotask webhook",
            Trigger::System => "Taskbridge",
        }
    }
}

/// One run, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    /// Its id.
    pub run_id: i64,
    /// What it did.
    pub kind: RunKind,
    /// Who or what started it.
    pub trigger: Trigger,
    /// The user's email, "schedule", "api token NAME", ...
    pub started_by: String,
    /// When it started.
    pub started_at: UnixMillis,
    /// When it ended.
    pub finished_at: UnixMillis,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Records it handled.
    pub done: i64,
    /// Records it left alone on purpose (held, nothing to do).
    pub skipped: i64,
    /// Records that failed.
    pub failed: i64,
    /// What happened, in words.
    pub summary: String,
    /// The run this one retried.
    pub retry_of: Option<i64>,
    /// What the run's server log lines carry ("job_id=42"), or empty.
    #[serde(default)]
    pub log_key: String,
}

impl RunRow {
    /// The records Retry failed runs again: the failed ones, and for a sync also those it
    /// left alone ([`RunKind::retries_skipped`]).
    pub fn to_retry(&self) -> i64 {
        self.failed + if self.kind.retries_skipped() { self.skipped } else { 0 }
    }
}

/// A record a run skipped or failed, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLine {
    /// "failed" or "skipped".
    pub outcome: String,
    /// The Taskbridge customer it concerns, if any.
    pub customer_id: Option<i64>,
    /// That customer's name (or the Autotask company's, before a customer exists).
    pub customer_name: String,
    /// The Autotask record it concerns ("Company 4021", "Contract 17, service 9").
    pub record: String,
    /// Why, and what to do about it.
    pub reason: String,
    /// What a retry needs to pick the record out again (a company, contact or customer id).
    #[serde(default)]
    pub record_id: Option<i64>,
    /// With it, a key such as a product.
    #[serde(default)]
    pub record_key: String,
}

impl RunLine {
    /// A failed record.
    pub fn failed(customer_id: Option<i64>, customer_name: impl Into<String>, record: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new("failed", customer_id, customer_name.into(), record.into(), reason.into())
    }

    /// A record left alone on purpose.
    pub fn skipped(customer_id: Option<i64>, customer_name: impl Into<String>, record: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new("skipped", customer_id, customer_name.into(), record.into(), reason.into())
    }

    fn new(outcome: &str, customer_id: Option<i64>, customer_name: String, record: String, reason: String) -> Self {
        Self { outcome: outcome.into(), customer_id, customer_name, record, reason, record_id: None, record_key: String::new() }
    }

    /// Whether the record failed (otherwise it was left alone on purpose).
    pub fn is_failed(&self) -> bool {
        self.outcome == "failed"
    }

    /// The same line, with what a retry needs to find its record again.
    pub fn for_retry(mut self, record_id: i64, record_key: impl Into<String>) -> Self {
        self.record_id = Some(record_id);
        self.record_key = record_key.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::companies::JobKind;

    #[test]
    fn stored_forms_round_trip() {
        for k in RunKind::ALL {
            assert_eq!(RunKind::parse(k.as_str()), Some(k));
        }
        for o in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(o.as_str()), Some(o));
        }
        for t in Trigger::ALL {
            assert_eq!(Trigger::parse(t.as_str()), Some(t));
        }
        assert_eq!(RunKind::parse("nope"), None);
        // A job's run keeps the job's stored kind.
        for job in [JobKind::Discover, JobKind::Import, JobKind::ContactFetch, JobKind::ContactImport, JobKind::Sync] {
            assert_eq!(RunKind::from(job).as_str(), job.as_str());
        }
    }

    #[test]
    fn a_run_is_partial_only_when_some_records_worked_and_some_failed() {
        assert_eq!(RunOutcome::of(false, 5, 0), RunOutcome::Ok);
        assert_eq!(RunOutcome::of(false, 0, 0), RunOutcome::Ok);
        assert_eq!(RunOutcome::of(false, 4, 1), RunOutcome::Partial);
        assert_eq!(RunOutcome::of(false, 0, 3), RunOutcome::Failed);
        assert_eq!(RunOutcome::of(true, 9, 0), RunOutcome::Failed);
    }

    #[test]
    fn actors_name_their_trigger() {
        assert_eq!(Trigger::of_actor("alice@example.com"), Trigger::User);
        assert_eq!(Trigger::of_actor("schedule"), Trigger::Schedule);
        assert_eq!(Trigger::of_actor("api token Backup platform"), Trigger::Token);
        assert_eq!(Trigger::of_actor("webhook"), Trigger::Webhook);
        assert_eq!(Trigger::of_actor("system"), Trigger::System);
    }
}
