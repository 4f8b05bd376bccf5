//! The active customer and contract sync from Autotask (seed 004): its settings, and the
//! Clients page's rows (the companies it follows, their details and contracts).

use super::money::Money;
use super::UnixMillis;
use serde::{Deserialize, Serialize};

/// The vendor a contract shows when its services name none (seed 004).
pub const DEFAULT_VENDOR: &str = "MSP Managed Services";
/// The shortest and longest polling interval an admin may choose, in minutes.
pub const EVERY_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;

/// What an admin sets on Setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettingsInput {
    /// Sync active customers (type Customer, status Active).
    pub customers: bool,
    /// Sync the contracts of active customers.
    pub contracts: bool,
    /// Minutes between polling rounds.
    pub every_minutes: i64,
}

impl SyncSettingsInput {
    /// The input, or why it cannot be saved.
    pub fn validate(&self) -> Result<(), String> {
        if !EVERY_MINUTES.contains(&self.every_minutes) {
            return Err(format!("Poll every {} to {} minutes ({} is a day).", EVERY_MINUTES.start(), EVERY_MINUTES.end(), EVERY_MINUTES.end()));
        }
        Ok(())
    }

    /// The seed's recommendation, when contracts are on without customers.
    pub fn advice(&self) -> Option<&'static str> {
        (self.contracts && !self.customers).then_some(
            "Recommended: switch on Active customers too, so each contract's customer gets its full profile (address, phones, email, web site).",
        )
    }
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundOutcome {
    /// Everything applied.
    Ok,
    /// Some records skipped or failed.
    Partial,
    /// The round could not run (Autotask unreachable, ...).
    Failed,
    /// Not run: the hourly budget was more than half used.
    Skipped,
}

impl RoundOutcome {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundOutcome::Ok => "ok",
            RoundOutcome::Partial => "partial",
            RoundOutcome::Failed => "failed",
            RoundOutcome::Skipped => "skipped",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [RoundOutcome::Ok, RoundOutcome::Partial, RoundOutcome::Failed, RoundOutcome::Skipped].into_iter().find(|o| o.as_str() == s)
    }
}

/// The settings as shown, with the last round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// What is switched on.
    pub input: SyncSettingsInput,
    /// When the last round ended.
    pub last_round_at: Option<UnixMillis>,
    /// How it ended.
    pub last_outcome: Option<RoundOutcome>,
    /// Its summary.
    pub last_message: Option<String>,
    /// When the next round is due (null: as soon as the sync is on).
    pub next_round_at: Option<UnixMillis>,
}

/// A followed company's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientState {
    /// Up to date with Autotask.
    Synced,
    /// Its customer could not be written (the reason says why).
    Failed,
    /// Left alone on purpose (the reason says why).
    Skipped,
    /// No longer an active Customer in Autotask (kept, not deleted).
    NotQualifying,
}

impl ClientState {
    /// Stored and URL form.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Synced => "synced",
            ClientState::Failed => "failed",
            ClientState::Skipped => "skipped",
            ClientState::NotQualifying => "not_qualifying",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [ClientState::Synced, ClientState::Failed, ClientState::Skipped, ClientState::NotQualifying].into_iter().find(|o| o.as_str() == s)
    }
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            ClientState::Synced => "Synced",
            ClientState::Failed => "Failed",
            ClientState::Skipped => "Skipped",
            ClientState::NotQualifying => "Not an active customer",
        }
    }
}

/// What started a sync of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    /// A polling round.
    Poll,
    /// An Autotask webhook callout.
    Webhook,
    /// Sync now or Retry.
    Manual,
}

impl SyncTrigger {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncTrigger::Poll => "poll",
            SyncTrigger::Webhook => "webhook",
            SyncTrigger::Manual => "manual",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [SyncTrigger::Poll, SyncTrigger::Webhook, SyncTrigger::Manual].into_iter().find(|o| o.as_str() == s)
    }
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            SyncTrigger::Poll => "Polling",
            SyncTrigger::Webhook => "Webhook",
            SyncTrigger::Manual => "Manual",
        }
    }
}

/// The Clients page's filter (all in the URL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientFilter {
    /// Name, email, phone or web site contains this.
    pub q: String,
    /// Only this state.
    pub state: Option<ClientState>,
    /// Only companies with (true) or without (false) contracts.
    pub has_contracts: Option<bool>,
}

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientQuery {
    /// The filter.
    pub filter: ClientFilter,
    /// 1-based page.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// A synced contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientContract {
    /// Autotask contract id.
    pub contract_id: i64,
    /// Name.
    pub name: String,
    /// Vendor (the services' vendor company, or [`DEFAULT_VENDOR`]).
    pub vendor: String,
    /// The current period's price over the contract's service units.
    pub overall_cost: Money,
    /// ISO code of its currency (Autotask's internal currency), or empty.
    pub currency: String,
    /// Active in Autotask.
    pub active: bool,
    /// What the latest sync changed.
    pub changes: Option<String>,
    /// When it was last synced.
    pub synced_at: UnixMillis,
}

/// A followed company with its customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRow {
    /// Autotask company id.
    pub company_id: i64,
    /// The Taskbridge customer it keeps up to date.
    pub customer_id: Option<i64>,
    /// Name in Autotask.
    pub name: String,
    /// Street address on one line (empty when the record has none).
    pub address: String,
    /// Phone, alternate phones and fax, labelled ("Fax: ...").
    pub phones: Vec<String>,
    /// The primary contact's email.
    pub email: String,
    /// Web site.
    pub web_address: String,
    /// State.
    pub state: ClientState,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// What the latest sync changed.
    pub changes: Option<String>,
    /// What the next sync will overwrite: the customer's fields edited in Taskbridge.
    pub overwrites: Option<String>,
    /// What synced it last.
    pub trigger: SyncTrigger,
    /// When.
    pub synced_at: UnixMillis,
    /// Its contracts.
    pub contracts: Vec<ClientContract>,
}

/// One page of the Clients list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientPage {
    /// The rows.
    pub rows: Vec<ClientRow>,
    /// Rows matching the filter.
    pub total: i64,
    /// Every followed company.
    pub followed: i64,
    /// The page shown.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// The settings and the last round.
    pub settings: SyncSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_checked_and_contracts_alone_are_advised_against() {
        let ok = SyncSettingsInput { customers: false, contracts: true, every_minutes: 5 };
        assert_eq!(ok.validate(), Ok(()));
        assert!(ok.advice().unwrap().contains("Active customers"));
        assert_eq!(SyncSettingsInput { customers: true, ..ok.clone() }.advice(), None);
        let bad = SyncSettingsInput { every_minutes: 0, ..ok };
        assert_eq!(bad.validate().unwrap_err(), "Poll every 1 to 1440 minutes (1440 is a day).");
    }

    #[test]
    fn states_and_triggers_round_trip() {
        for s in [ClientState::Synced, ClientState::Failed, ClientState::Skipped, ClientState::NotQualifying] {
            assert_eq!(ClientState::parse(s.as_str()), Some(s));
        }
        for t in [SyncTrigger::Poll, SyncTrigger::Webhook, SyncTrigger::Manual] {
            assert_eq!(SyncTrigger::parse(t.as_str()), Some(t));
        }
        assert_eq!(RoundOutcome::parse("partial"), Some(RoundOutcome::Partial));
    }
}

/// Instant updates (an Autotask company webhook calling Taskbridge) as Setup shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstantUpdates {
    /// Where Autotask's callouts would go, from `TASKBRIDGE_PUBLIC_URL` (None: not set,
    /// so instant updates cannot be switched on).
    pub callout_base: Option<String>,
    /// The webhook registered in Autotask, if any.
    pub webhook: Option<RegisteredWebhook>,
    /// Callouts received and not yet applied.
    pub pending: i64,
}

/// The registered webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredWebhook {
    /// Autotask's CompanyWebhooks id.
    pub webhook_id: i64,
    /// The URL Autotask calls.
    pub url: String,
    pub registered_at: UnixMillis,
    pub registered_by: String,
    /// When Autotask said it switched the callout off (after 25 failed deliveries).
    pub deactivated_at: Option<UnixMillis>,
    /// Callouts received.
    pub callouts: i64,
    pub last_callout_at: Option<UnixMillis>,
    /// Callouts refused for a wrong signature.
    pub bad_signatures: i64,
    pub last_bad_signature_at: Option<UnixMillis>,
}
