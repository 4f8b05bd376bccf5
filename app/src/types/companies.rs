//! Companies discovered in Autotask, their import, and background jobs.

use super::UnixMillis;
use serde::{Deserialize, Serialize};

/// Where a company stands with respect to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Never imported.
    #[default]
    NotImported,
    /// A Taskbridge customer exists for it.
    Imported,
    /// The last import of it failed (the reason is kept).
    Failed,
}

impl ImportStatus {
    /// The stored form (`None` for never imported).
    pub fn as_db(self) -> Option<&'static str> {
        match self {
            ImportStatus::NotImported => None,
            ImportStatus::Imported => Some("imported"),
            ImportStatus::Failed => Some("failed"),
        }
    }
}

/// Which companies to list: every field narrows the list; empty means "any".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CompanyFilter {
    /// Part of the name, or an exact Autotask company ID.
    #[serde(default)]
    pub search: String,
    /// Autotask company type value (e.g. 1 = Customer).
    #[serde(default)]
    pub company_type: Option<i64>,
    /// Active or inactive in Autotask.
    #[serde(default)]
    pub active: Option<bool>,
    /// Import status; `problem` lists rows an import would fail today.
    #[serde(default)]
    pub status: Option<StatusFilter>,
}

/// The status filter of the Companies page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Never imported.
    NotImported,
    /// Imported.
    Imported,
    /// Failed at the last import.
    Failed,
    /// Not imported and would fail (missing contact, bad state...).
    Problem,
}

impl StatusFilter {
    /// URL and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::NotImported => "not_imported",
            StatusFilter::Imported => "imported",
            StatusFilter::Failed => "failed",
            StatusFilter::Problem => "problem",
        }
    }
    /// Parses the URL form; anything else is "any".
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "not_imported" => Some(Self::NotImported),
            "imported" => Some(Self::Imported),
            "failed" => Some(Self::Failed),
            "problem" => Some(Self::Problem),
            _ => None,
        }
    }
}

/// Sort orders of the Companies table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CompanySort {
    /// Name A→Z.
    #[default]
    Name,
    /// Name Z→A.
    NameDesc,
    /// Autotask ID ascending.
    Id,
    /// Country, then name.
    Country,
    /// Status, then name.
    Status,
}

impl CompanySort {
    /// URL form.
    pub fn as_str(self) -> &'static str {
        match self {
            CompanySort::Name => "name",
            CompanySort::NameDesc => "-name",
            CompanySort::Id => "id",
            CompanySort::Country => "country",
            CompanySort::Status => "status",
        }
    }
    /// Parses the URL form (unknown → by name).
    pub fn parse(s: &str) -> Self {
        match s {
            "-name" => Self::NameDesc,
            "id" => Self::Id,
            "country" => Self::Country,
            "status" => Self::Status,
            _ => Self::Name,
        }
    }
}

/// Largest page the server returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyQuery {
    /// What to list.
    #[serde(default)]
    pub filter: CompanyFilter,
    /// Sort order.
    #[serde(default)]
    pub sort: CompanySort,
    /// 1-based page number.
    pub page: u32,
    /// Rows per page (capped at [`MAX_PAGE_SIZE`]).
    pub per_page: u32,
}

impl Default for CompanyQuery {
    fn default() -> Self {
        Self { filter: CompanyFilter::default(), sort: CompanySort::Name, page: 1, per_page: 50 }
    }
}

/// One Autotask company as the Companies page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyRow {
    /// Autotask company ID.
    pub company_id: i64,
    /// Name in Autotask.
    pub name: String,
    /// Company type label (Customer, Prospect, Vendor...).
    pub type_label: String,
    /// Active in Autotask.
    pub active: bool,
    /// "City, State" as far as known.
    pub place: String,
    /// ISO country code (None: no country in Autotask, imported as US).
    pub country_code: Option<String>,
    /// Country name.
    pub country_name: Option<String>,
    /// The data region an import places the customer in.
    pub region: String,
    /// Its main phone number, as Autotask has it.
    pub phone: Option<String>,
    /// Its web site, as Autotask has it.
    pub web: Option<String>,
    /// Primary contact: name and email.
    pub contact: Option<(String, String)>,
    /// Import status.
    pub status: ImportStatus,
    /// Why the last import failed, or why an import would fail now.
    pub reason: Option<String>,
    /// Problem an import would hit today (None: it would succeed).
    pub problem: Option<String>,
    /// The latest discovery no longer saw it in Autotask.
    pub missing: bool,
    /// When it was last imported (or failed).
    pub import_at: Option<UnixMillis>,
}

/// A type value and its label, for the type filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeOption {
    /// Stored value.
    pub value: i64,
    /// Label from the partner's picklist.
    pub label: String,
    /// Companies of this type.
    pub count: i64,
}

/// A page of companies with what the page needs around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyPage {
    /// The rows.
    pub rows: Vec<CompanyRow>,
    /// Rows matching the filter.
    pub total: i64,
    /// Companies discovered in all.
    pub discovered: i64,
    /// The page shown (1-based, clamped to the last page).
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Type filter options.
    pub types: Vec<TypeOption>,
    /// When the last discovery finished.
    pub discovered_at: Option<UnixMillis>,
    /// The partner's Autotask web address (links open companies there).
    pub autotask_web_url: Option<String>,
}

/// What an import of a selection would do, decided as the import decides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan {
    /// Companies selected.
    pub total: i64,
    /// New customers.
    pub create: i64,
    /// Customers an earlier import made, refreshed.
    pub update: i64,
    /// Existing unlinked customers of the same name, linked.
    pub link: i64,
    /// Rows that would fail (a rule, or several customers of the same name).
    pub fail: i64,
}

/// What to import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportSelection {
    /// These Autotask company IDs.
    Ids(Vec<i64>),
    /// Every company matching this filter.
    Matching(CompanyFilter),
}

/// Largest explicit selection.
pub const MAX_SELECTED_IDS: usize = 5_000;

/// Kinds of background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Fetch the partner's companies from Autotask.
    Discover,
    /// Create customers from companies.
    Import,
    /// Fetch the partner's contacts from Autotask.
    ContactFetch,
    /// Create backup users from contacts.
    ContactImport,
    /// A customer and contract sync round (Sync now, or the polling schedule).
    Sync,
}

impl JobKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Discover => "discover",
            JobKind::Import => "import",
            JobKind::ContactFetch => "contact_fetch",
            JobKind::ContactImport => "contact_import",
            JobKind::Sync => "sync",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "discover" => Some(Self::Discover),
            "import" => Some(Self::Import),
            "contact_fetch" => Some(Self::ContactFetch),
            "contact_import" => Some(Self::ContactImport),
            "sync" => Some(Self::Sync),
            _ => None,
        }
    }
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Discover => "Discovery",
            JobKind::Import => "Import",
            JobKind::ContactFetch => "Getting Autotask contacts",
            JobKind::ContactImport => "Contact import",
            JobKind::Sync => "Customer sync",
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Still working.
    Running,
    /// Finished (some rows may have failed: see `failed`).
    Done,
    /// Stopped by an error (`message` says which).
    Failed,
}

impl JobState {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
    /// Parses the stored form (unknown → failed).
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "done" => Self::Done,
            _ => Self::Failed,
        }
    }
}

/// A background job and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    /// Id.
    pub job_id: i64,
    /// Kind.
    pub kind: JobKind,
    /// State.
    pub state: JobState,
    /// What it is doing now ("Fetching companies").
    pub stage: String,
    /// Units done.
    pub done: i64,
    /// Units in all (0 while unknown).
    pub total: i64,
    /// Rows that worked.
    pub succeeded: i64,
    /// Rows that failed.
    pub failed: i64,
    /// Summary or the error.
    pub message: String,
    /// Who started it.
    pub started_by: String,
    /// Started.
    pub started_at: UnixMillis,
    /// Finished.
    pub finished_at: Option<UnixMillis>,
}

impl JobView {
    /// Progress in percent, when the total is known.
    pub fn percent(&self) -> Option<u32> {
        (self.total > 0).then(|| ((self.done.min(self.total) * 100) / self.total) as u32)
    }
}
