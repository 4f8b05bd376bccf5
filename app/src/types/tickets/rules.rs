//! Partner Notification rules: what each does, the choices a rule is created or edited
//! with (only those that apply to its action), and the customers its picker offers.

use super::{EventType, UnixMillis};
use crate::error::AppError;
use serde::{Deserialize, Serialize};

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
    pub event_types: Vec<EventType>,
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
    /// A "Synchronize with Autotask" rule: it switches the partner's automatic billing
    /// pushes on, and none of a ticket rule's choices apply to it (stored at the seed's
    /// "Yes": OK events and every event type, every customer).
    pub fn sync() -> Self {
        Self {
            action: RuleAction::Sync,
            subscribe_ok: true,
            all_types: true,
            event_types: Vec::new(),
            customer_ids: Vec::new(),
            complete_on_recovery: false,
        }
    }

    /// Checks the choices (a sync rule's are its own, whatever was sent); the error names
    /// the field.
    pub fn validate(&mut self) -> Result<(), AppError> {
        if self.action == RuleAction::Sync {
            *self = Self::sync();
            return Ok(());
        }
        self.event_types.sort();
        self.event_types.dedup();
        self.customer_ids.sort_unstable();
        self.customer_ids.dedup();
        if let Some(bad) = self.event_types.iter().find(|t| t.is_recovery()) {
            return Err(AppError::invalid(
                "event_types",
                format!("\u{201c}{}\u{201d} is a recovery: rules choose failures, and their recoveries follow.", bad.label()),
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_need_a_type_when_not_all() {
        let mut r = RuleInput { all_types: false, ..RuleInput::default() };
        assert!(r.validate().unwrap_err().field_message("event_types").is_some());
        r.event_types = vec![EventType::BackupFailed, EventType::BackupFailed];
        r.validate().unwrap();
        assert_eq!(r.event_types, vec![EventType::BackupFailed]);
        r.event_types = vec![EventType::BackupOk];
        assert!(r.validate().unwrap_err().field_message("event_types").is_some(), "recoveries follow their failures");
        assert!(serde_json::from_value::<EventType>(serde_json::json!("nope")).is_err());
    }

    #[test]
    fn a_sync_rule_keeps_none_of_the_ticket_choices() {
        let mut r = RuleInput { action: RuleAction::Sync, all_types: false, customer_ids: vec![4], ..RuleInput::default() };
        r.validate().unwrap();
        assert_eq!(r, RuleInput::sync());
    }
}
