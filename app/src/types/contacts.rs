//! Autotask contacts and the backup users imported from them: the Contacts page's list,
//! its Integration status (the seed's "MBS Integration Status"), and the Backup users page.

use super::UnixMillis;
use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// Where a contact stands with respect to Taskbridge, exactly as the seed defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Not in Taskbridge yet (shown blank).
    #[default]
    Blank,
    /// Imported; the backup user's name and company match Autotask.
    Equal,
    /// Imported; name or company differ (changed on either side).
    Modified,
    /// The import failed (the reason is kept).
    Failed,
}

impl IntegrationStatus {
    /// URL and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationStatus::Blank => "blank",
            IntegrationStatus::Equal => "equal",
            IntegrationStatus::Modified => "modified",
            IntegrationStatus::Failed => "failed",
        }
    }

    /// Parses the URL form; anything else is "any".
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "blank" => Some(Self::Blank),
            "equal" => Some(Self::Equal),
            "modified" => Some(Self::Modified),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The word shown (blank for [`IntegrationStatus::Blank`]).
    pub fn label(self) -> &'static str {
        match self {
            IntegrationStatus::Blank => "",
            IntegrationStatus::Equal => "Equal",
            IntegrationStatus::Modified => "Modified",
            IntegrationStatus::Failed => "Failed",
        }
    }
}

/// Which contacts to list: every field narrows the list; empty means "any".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContactFilter {
    /// Part of the name, email or company name, or an exact Autotask contact ID.
    #[serde(default)]
    pub search: String,
    /// Integration status.
    #[serde(default)]
    pub status: Option<IntegrationStatus>,
    /// Only contacts of this Autotask company.
    #[serde(default)]
    pub company_id: Option<i64>,
    /// Only contacts whose company is mapped to this customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Active or inactive in Autotask.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Sort orders of the Contacts table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContactSort {
    /// Name A→Z.
    #[default]
    Name,
    /// Z→A.
    NameDesc,
    /// Email.
    Email,
    /// Company name, then name.
    Company,
    /// Status (failed and modified first), then name.
    Status,
}

impl ContactSort {
    /// URL form.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactSort::Name => "name",
            ContactSort::NameDesc => "-name",
            ContactSort::Email => "email",
            ContactSort::Company => "company",
            ContactSort::Status => "status",
        }
    }
    /// Parses the URL form (unknown → by name).
    pub fn parse(s: &str) -> Self {
        match s {
            "-name" => Self::NameDesc,
            "email" => Self::Email,
            "company" => Self::Company,
            "status" => Self::Status,
            _ => Self::Name,
        }
    }
}

/// A page request of the Contacts list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactQuery {
    /// What to list.
    #[serde(default)]
    pub filter: ContactFilter,
    /// Sort order.
    #[serde(default)]
    pub sort: ContactSort,
    /// 1-based page.
    pub page: u32,
    /// Rows per page (capped at 200).
    pub per_page: u32,
}

impl Default for ContactQuery {
    fn default() -> Self {
        Self { filter: ContactFilter::default(), sort: ContactSort::Name, page: 1, per_page: 50 }
    }
}

/// One Autotask contact as the Contacts page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    /// Autotask contact ID.
    pub contact_id: i64,
    /// First name in Autotask.
    pub first_name: String,
    /// Last name in Autotask.
    pub last_name: String,
    /// Email in Autotask.
    pub email: String,
    /// Its Autotask company.
    pub company_id: Option<i64>,
    /// The company's name, when Companies discovery has it.
    pub company_name: Option<String>,
    /// The customer the company is mapped to on the Customer Map (the first, by name).
    pub customer: Option<(i64, String)>,
    /// Active in Autotask.
    pub active: bool,
    /// The latest "Get contacts" no longer saw it in Autotask.
    pub missing: bool,
    /// Integration status.
    pub status: IntegrationStatus,
    /// Why it failed, or what differs when Modified.
    pub reason: Option<String>,
    /// The backup user imported from it.
    pub backup_user_id: Option<i64>,
    /// The destination chosen for its import (or its backup user's).
    pub destination_id: Option<i64>,
    /// The package chosen for its import (or its backup user's).
    pub package_id: Option<i64>,
}

/// A page of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPage {
    /// Rows.
    pub rows: Vec<ContactRow>,
    /// Rows matching the filter.
    pub total: i64,
    /// Whether any contact was fetched at all (an empty list says what to do first).
    pub any_fetched: bool,
    /// The page shown.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// When the last "Get Autotask contacts" finished.
    pub fetched_at: Option<UnixMillis>,
    /// The partner's Autotask web address (links open contacts there).
    pub autotask_web_url: Option<String>,
    /// The company filter's name, when one is set.
    pub company_filter_name: Option<String>,
    /// The customer filter's name, when one is set.
    pub customer_filter_name: Option<String>,
}

/// What to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactSelection {
    /// These Autotask contact IDs.
    Ids(Vec<i64>),
    /// Every contact matching this filter.
    Matching(ContactFilter),
}

/// Largest explicit selection.
pub const MAX_SELECTED_CONTACTS: usize = 5_000;

/// How many rows a "set for selected" changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoicesSet {
    /// Contacts whose choice was set.
    pub changed: i64,
    /// Selected contacts already imported (their user keeps its own; change it on Backup users).
    pub imported_skipped: i64,
}

/// "Update from Autotask" or "Keep Taskbridge's", for a Modified contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Take Autotask's name and company again.
    TakeAutotask,
    /// Keep the backup user as it is and stop flagging the difference.
    KeepTaskbridge,
}

/// Which backup users to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BackupUserFilter {
    /// Part of the name or email.
    #[serde(default)]
    pub search: String,
    /// Of this customer.
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// With this destination.
    #[serde(default)]
    pub destination_id: Option<i64>,
    /// On this package.
    #[serde(default)]
    pub package_id: Option<i64>,
    /// Linked to an Autotask contact, or not.
    #[serde(default)]
    pub linked: Option<bool>,
}

/// A page request of the Backup users list (by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupUserQuery {
    /// What to list.
    #[serde(default)]
    pub filter: BackupUserFilter,
    /// 1-based page.
    pub page: u32,
    /// Rows per page (capped at 200).
    pub per_page: u32,
}

impl Default for BackupUserQuery {
    fn default() -> Self {
        Self { filter: BackupUserFilter::default(), page: 1, per_page: 50 }
    }
}

/// A backup user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupUserRow {
    /// Id.
    pub backup_user_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email: the user's login on the backup platform.
    pub email: String,
    /// Its customer.
    pub customer_id: i64,
    /// The customer's name.
    pub customer_name: String,
    /// The customer's reference at the backup platform, if it has one.
    pub customer_ref: Option<String>,
    /// Destination.
    pub destination_id: i64,
    /// Its name.
    pub destination_name: String,
    /// Package.
    pub package_id: i64,
    /// Its name.
    pub package_name: String,
    /// Its storage limit in GB (None: unlimited).
    pub package_limit_gb: Option<i64>,
    /// The Autotask contact it was imported from, while still linked.
    pub contact_id: Option<i64>,
    /// That contact's status (Equal or Modified) while linked.
    pub contact_status: Option<IntegrationStatus>,
    /// What differs from Autotask, when Modified.
    pub differences: Option<String>,
    /// Created.
    pub created_at: UnixMillis,
    /// Last change.
    pub updated_at: UnixMillis,
}

/// A page of backup users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupUserPage {
    /// Rows.
    pub rows: Vec<BackupUserRow>,
    /// Rows matching the filter.
    pub total: i64,
    /// Backup users in all.
    pub all: i64,
    /// Page shown.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

/// A backup user as edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupUserInput {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email (the login).
    pub email: String,
    /// Customer.
    pub customer_id: i64,
    /// Destination.
    pub destination_id: i64,
    /// Package.
    pub package_id: i64,
}

/// A backup user input that passed the checks the browser can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBackupUser {
    /// First name, trimmed.
    pub first_name: String,
    /// Last name, trimmed.
    pub last_name: String,
    /// Email, trimmed and lower-cased.
    pub email: String,
}

fn person_name(raw: &str, field: &str, what: &str) -> Result<String, AppError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, format!("Enter the {what}.")));
    }
    if v.chars().count() > 100 {
        return Err(AppError::invalid(field, "Use at most 100 characters."));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "Use letters and punctuation only (no tabs or line breaks)."));
    }
    Ok(v.to_string())
}

impl BackupUserInput {
    /// Every field's problem at once, for a form to show beside each field.
    pub fn errors(&self) -> Vec<AppError> {
        [
            person_name(&self.first_name, "first_name", "first name").err(),
            person_name(&self.last_name, "last_name", "last name").err(),
            super::parse_email(&self.email).err(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Checks the names and the email (the server also checks the ids and uniqueness).
    pub fn validate(&self) -> Result<ValidBackupUser, AppError> {
        Ok(ValidBackupUser {
            first_name: person_name(&self.first_name, "first_name", "first name")?,
            last_name: person_name(&self.last_name, "last_name", "last name")?,
            email: super::parse_email(&self.email)?,
        })
    }
}

/// What a save of a backup user did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupUserSaved {
    /// The user as saved.
    pub user: BackupUserRow,
    /// What the change meant, in words (e.g. the email change unlinked the contact).
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_their_url_form() {
        for s in [IntegrationStatus::Blank, IntegrationStatus::Equal, IntegrationStatus::Modified, IntegrationStatus::Failed] {
            assert_eq!(IntegrationStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(IntegrationStatus::parse("whatever"), None);
        assert_eq!(IntegrationStatus::Blank.label(), "", "the seed shows a blank status for a contact not in Taskbridge");
    }

    #[test]
    fn a_backup_user_needs_both_names_and_a_valid_email() {
        let input = |first: &str, email: &str| BackupUserInput {
            first_name: first.into(),
            last_name: "Smith".into(),
            email: email.into(),
            customer_id: 1,
            destination_id: 1,
            package_id: 1,
        };
        assert_eq!(input(" Ann ", " Ann@Example.com").validate().unwrap().email, "ann@example.com");
        assert!(input("", "ann@example.com").validate().unwrap_err().field_message("first_name").is_some());
        assert!(input("Ann", "ann@").validate().unwrap_err().field_message("email").is_some());
        let both = input("", "ann@").errors();
        assert!(both.iter().any(|e| e.field_message("first_name").is_some()) && both.iter().any(|e| e.field_message("email").is_some()));
    }
}
