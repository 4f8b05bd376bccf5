//! The server-side capabilities server functions may call (SSR only).
//!
//! `app` cannot depend on `server`, so it declares these traits and `server` implements
//! them. Every method takes the partner id explicitly: tenancy is never implied.

use crate::error::AppError;
use crate::types::billing::{
    BillingSchedule, BillingSettings, PreviewQuery, ProductMapping, PushLine, PushPreview, PushResult, PushRun, PushSelection, ServiceOption,
};
use crate::types::companies::{CompanyPage, CompanyQuery, ImportPlan, ImportSelection, JobKind, JobView};
use crate::types::contacts::{
    BackupUserInput, BackupUserPage, BackupUserQuery, BackupUserSaved, ChoicesSet, ContactPage, ContactQuery, ContactSelection, Resolution,
};
use crate::types::history::{ApiUsage, ChangePage, ChangeQuery, RetryPlan, RunDetail, RunPage, RunQuery, Timeline};
use crate::types::map::{CompanyMapPage, CompanyRef, ContractOption, CustomerMapPage, ExactMatches, MapChange, MapHistoryEntry, MapQuery, MapSaved};
use crate::types::storage::{Destination, DestinationInput, Package, PackageInput, StorageItem, StorageLists};
use crate::types::sync::{ClientPage, ClientQuery, ClientRow, InstantUpdates, SyncSettings, SyncSettingsInput};
use crate::types::tickets::{CustomerChoice, EventPage, EventQuery, NotificationRule, RuleInput, TestTicket, TicketPicklists, TicketSettings};
use crate::types::{
    ApiTokenSummary, ConnectionInput, ConnectionTest, ConnectionView, CreatedApiToken, CurrentUser, NewUser, Overview, Role, SiteInfo, UserSummary,
};
use leptos::prelude::use_context;
use std::sync::Arc;

/// A session created by a successful sign-in.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The opaque cookie value (only its hash is stored).
    pub token: String,
    /// Who signed in.
    pub user: CurrentUser,
}

/// Where a request came from, as the server's middleware recorded it.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client address (honouring X-Forwarded-For only when configured).
    pub client_ip: String,
    /// The User-Agent header.
    pub user_agent: String,
    /// The session cookie value, if one was sent.
    pub session_token: Option<String>,
    /// Whether cookies must carry `Secure`.
    pub secure_cookies: bool,
}

/// Sign-in, sessions and sign-out.
#[async_trait::async_trait]
pub trait AuthService: Send + Sync {
    /// Checks the password, applies throttling, and opens a session.
    async fn sign_in(&self, email: &str, password: &str, meta: &RequestMeta) -> Result<NewSession, AppError>;
    /// Ends the session with this cookie value (no error if it is already gone).
    async fn sign_out(&self, token: &str) -> Result<(), AppError>;
    /// Changes the signed-in user's password after checking the current one (throttled
    /// like a sign-in); the user's other sessions end, this one stays.
    async fn change_password(&self, user: &CurrentUser, current: &str, new: &str, meta: &RequestMeta) -> Result<(), AppError>;
    /// Checks the signed-in user's own password again before a sensitive change (a new
    /// Autotask secret, a new API token); throttled like a sign-in. A wrong or missing
    /// password is an `Invalid` error on the field `password`.
    async fn confirm_password(&self, user: &CurrentUser, password: &str) -> Result<(), AppError>;
    /// The cookie's name.
    fn cookie_name(&self) -> &str;
}

/// The partner's users.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// All users of the partner, by email.
    async fn list(&self, partner_id: i64) -> Result<Vec<UserSummary>, AppError>;
    /// Adds a user to the partner.
    async fn create(&self, actor: &CurrentUser, user: NewUser) -> Result<UserSummary, AppError>;
    /// Changes a user's role (never leaves the partner without an active admin).
    async fn set_role(&self, actor: &CurrentUser, user_id: i64, role: Role) -> Result<UserSummary, AppError>;
    /// Disables or re-enables a user (disabling ends its sessions).
    async fn set_disabled(&self, actor: &CurrentUser, user_id: i64, disabled: bool) -> Result<UserSummary, AppError>;
}

/// The partner's machine API tokens.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// All tokens of the partner, newest first.
    async fn list(&self, partner_id: i64) -> Result<Vec<ApiTokenSummary>, AppError>;
    /// Creates a token; the secret is returned once and stored hashed.
    async fn create(&self, actor: &CurrentUser, name: String) -> Result<CreatedApiToken, AppError>;
    /// Revokes a token of the partner.
    async fn revoke(&self, actor: &CurrentUser, token_id: i64) -> Result<ApiTokenSummary, AppError>;
}

/// The partner's home page figures.
#[async_trait::async_trait]
pub trait OverviewStore: Send + Sync {
    /// Counts and recent history for the partner.
    async fn overview(&self, partner_id: i64) -> Result<Overview, AppError>;
}

/// The partner's Autotask connection.
#[async_trait::async_trait]
pub trait AutotaskSettings: Send + Sync {
    /// The settings (without the secret).
    async fn get(&self, partner_id: i64) -> Result<ConnectionView, AppError>;
    /// Saves the settings (keeping the stored secret when none is given) and discovers the zone.
    async fn save(&self, actor: &CurrentUser, input: ConnectionInput) -> Result<ConnectionView, AppError>;
    /// Calls Autotask with the saved settings and says what worked or exactly what did not.
    async fn test(&self, actor: &CurrentUser) -> Result<ConnectionTest, AppError>;
    /// Tests settings as typed, before they are saved (the saved ones stay as they are;
    /// settings equal to the saved ones are the saved test). No secret typed: the saved
    /// one, for the user and zone it was saved with only.
    async fn test_typed(&self, actor: &CurrentUser, input: ConnectionInput) -> Result<ConnectionTest, AppError>;
}

/// Autotask companies: discovery into Taskbridge, the list, and import as customers.
#[async_trait::async_trait]
pub trait CompanyService: Send + Sync {
    /// A filtered, sorted page of the discovered companies.
    async fn list(&self, partner_id: i64, query: CompanyQuery) -> Result<CompanyPage, AppError>;
    /// Starts fetching the partner's companies from Autotask (one discovery at a time).
    async fn start_discovery(&self, actor: &CurrentUser) -> Result<JobView, AppError>;
    /// Starts importing the selected companies as customers (one import at a time).
    async fn start_import(&self, actor: &CurrentUser, selection: ImportSelection, retry_of: Option<i64>) -> Result<JobView, AppError>;
    /// What importing the selection would do (nothing is written).
    async fn plan_import(&self, partner_id: i64, selection: ImportSelection) -> Result<ImportPlan, AppError>;
    /// One job of the partner.
    async fn job(&self, partner_id: i64, job_id: i64) -> Result<JobView, AppError>;
    /// The partner's latest job of a kind, if any.
    async fn latest_job(&self, partner_id: i64, kind: JobKind) -> Result<Option<JobView>, AppError>;
}

/// The Customer Map: customers beside Autotask companies, suggestions, links, contracts.
#[async_trait::async_trait]
pub trait CustomerMapService: Send + Sync {
    /// A page of customers (Taskbridge side).
    async fn customers(&self, partner_id: i64, query: MapQuery) -> Result<CustomerMapPage, AppError>;
    /// A page of companies (Autotask side).
    async fn companies(&self, partner_id: i64, query: MapQuery) -> Result<CompanyMapPage, AppError>;
    /// Applies staged changes all at once (or none, with the reason).
    async fn save(&self, actor: &CurrentUser, changes: Vec<MapChange>) -> Result<MapSaved, AppError>;
    /// The Autotask contracts of a customer's companies, each flagged if unfit for billing.
    /// The contracts of the customer's linked companies, or of `companies` (its links as
    /// staged, checked to exist in Autotask).
    async fn contracts(&self, partner_id: i64, customer_id: i64, companies: Option<Vec<i64>>) -> Result<Vec<ContractOption>, AppError>;
    /// Every exact-name suggestion of the search and filter, on any page.
    async fn exact_matches(&self, partner_id: i64, query: MapQuery) -> Result<ExactMatches, AppError>;
    /// The Autotask company with this ID (looked up in Autotask when never discovered).
    async fn company(&self, partner_id: i64, company_id: i64) -> Result<CompanyRef, AppError>;
    /// Recent changes to the map, newest first.
    async fn history(&self, partner_id: i64) -> Result<Vec<MapHistoryEntry>, AppError>;
}

/// Ticket settings, Partner Notification rules, the test ticket and the event log.
#[async_trait::async_trait]
pub trait TicketService: Send + Sync {
    /// The partner's ticket settings (the defaults until saved).
    async fn settings(&self, partner_id: i64) -> Result<TicketSettings, AppError>;
    /// Saves them (tickets already open are not rewritten).
    async fn save_settings(&self, actor: &CurrentUser, settings: TicketSettings) -> Result<TicketSettings, AppError>;
    /// Queues, priorities and statuses, live from the partner's Autotask (active only).
    async fn picklists(&self, partner_id: i64) -> Result<TicketPicklists, AppError>;
    /// The partner's rules.
    async fn rules(&self, partner_id: i64) -> Result<Vec<NotificationRule>, AppError>;
    /// Creates a rule.
    async fn create_rule(&self, actor: &CurrentUser, rule: RuleInput) -> Result<NotificationRule, AppError>;
    /// Changes a rule.
    async fn update_rule(&self, actor: &CurrentUser, rule_id: i64, rule: RuleInput) -> Result<NotificationRule, AppError>;
    /// Deletes a rule.
    async fn delete_rule(&self, actor: &CurrentUser, rule_id: i64) -> Result<(), AppError>;
    /// Customers for the rule form and the test ticket (by name).
    async fn customer_choices(&self, partner_id: i64, search: String) -> Result<Vec<CustomerChoice>, AppError>;
    /// Opens, notes and completes a test ticket in a mapped customer's company.
    async fn test_ticket(&self, actor: &CurrentUser, customer_id: Option<i64>) -> Result<TestTicket, AppError>;
    /// Sends the events Autotask refused back to the dispatcher as a retry of History run
    /// `retry_of`; how many went back.
    async fn retry_events(&self, actor: &CurrentUser, event_ids: Vec<i64>, retry_of: i64) -> Result<i64, AppError>;
    /// A page of the event log.
    async fn events(&self, partner_id: i64, query: EventQuery) -> Result<EventPage, AppError>;
}

/// Billing settings: services and each product's mapping and rounding.
#[async_trait::async_trait]
pub trait BillingService: Send + Sync {
    /// Every product's mapping (unmapped until saved).
    async fn settings(&self, partner_id: i64) -> Result<BillingSettings, AppError>;
    /// "Retrieve services": the partner's Autotask services with their eligibility.
    async fn services(&self, partner_id: i64) -> Result<Vec<ServiceOption>, AppError>;
    /// Saves the mappings (each mapped service checked in Autotask).
    async fn save_settings(&self, actor: &CurrentUser, mappings: Vec<ProductMapping>) -> Result<BillingSettings, AppError>;
    /// A page of a dry run of a push: nothing is written. Autotask is read again when the
    /// query asks to or the last reading is more than a few minutes old.
    async fn preview(&self, partner_id: i64, query: PreviewQuery) -> Result<PushPreview, AppError>;
    /// Applies the selected changes (re-reading Autotask first) and records the run.
    /// `retry_of`: the run whose failed lines these are (the History links the two).
    async fn apply(&self, actor: &CurrentUser, selection: PushSelection, retry_of: Option<i64>) -> Result<PushResult, AppError>;
    /// Recent pushes, newest first.
    async fn history(&self, partner_id: i64) -> Result<Vec<PushRun>, AppError>;
    /// The lines of one push.
    async fn push_lines(&self, partner_id: i64, push_id: i64) -> Result<Vec<PushLine>, AppError>;
    /// Writes the compensating adjustments of a push (recorded as a push of its own).
    async fn undo(&self, actor: &CurrentUser, push_id: i64) -> Result<PushResult, AppError>;
    /// The automatic push schedule.
    async fn schedule(&self, partner_id: i64) -> Result<BillingSchedule, AppError>;
    /// Changes it.
    async fn save_schedule(&self, actor: &CurrentUser, schedule: BillingSchedule) -> Result<BillingSchedule, AppError>;
}

/// History: the partner's runs and the records each skipped or failed.
#[async_trait::async_trait]
pub trait HistoryService: Send + Sync {
    /// A page of runs, newest first (a bad filter is an `Invalid` error on its field).
    async fn runs(&self, partner_id: i64, query: RunQuery) -> Result<RunPage, AppError>;
    /// One run with its lines (another partner's is not found).
    async fn run(&self, partner_id: i64, run_id: i64) -> Result<RunDetail, AppError>;
    /// What "Retry failed" re-runs for a run, or why it cannot.
    async fn retry_plan(&self, partner_id: i64, run_id: i64) -> Result<RetryPlan, AppError>;
    /// A page of settings changes, newest first.
    async fn changes(&self, partner_id: i64, query: ChangeQuery) -> Result<ChangePage, AppError>;
    /// A page of a customer's timeline, newest first, before a time (ms) if given.
    async fn timeline(&self, partner_id: i64, customer_id: i64, before: Option<i64>) -> Result<Timeline, AppError>;
    /// How many days the partner keeps its history.
    async fn retention_days(&self, partner_id: i64) -> Result<i64, AppError>;
    /// Changes it (recorded as a settings change).
    async fn set_retention_days(&self, actor: &CurrentUser, days: i64) -> Result<i64, AppError>;
    /// What Taskbridge spent of the partner's Autotask in the last `hours`, per hour and
    /// feature, against the budget Autotask reported.
    async fn api_usage(&self, partner_id: i64, hours: i64) -> Result<ApiUsage, AppError>;
}

/// Storage destinations and packages (what a backup user needs).
#[async_trait::async_trait]
pub trait StorageService: Send + Sync {
    /// Both lists, with how many backup users use each.
    async fn lists(&self, partner_id: i64) -> Result<StorageLists, AppError>;
    /// Adds a destination (`id` None) or changes one.
    async fn save_destination(&self, actor: &CurrentUser, id: Option<i64>, input: DestinationInput) -> Result<Destination, AppError>;
    /// Adds a package (`id` None) or changes one.
    async fn save_package(&self, actor: &CurrentUser, id: Option<i64>, input: PackageInput) -> Result<Package, AppError>;
    /// Retires one (kept for its users, no longer offered) or reactivates it.
    async fn set_retired(&self, actor: &CurrentUser, item: StorageItem, id: i64, retired: bool) -> Result<(), AppError>;
    /// Deletes one no backup user uses (otherwise says by how many it is used).
    async fn delete(&self, actor: &CurrentUser, item: StorageItem, id: i64) -> Result<(), AppError>;
}

/// Autotask contacts: fetching them, the list, the import choices, and import as backup users.
#[async_trait::async_trait]
pub trait ContactService: Send + Sync {
    /// A filtered, sorted page of the fetched contacts with their integration status.
    async fn list(&self, partner_id: i64, query: ContactQuery) -> Result<ContactPage, AppError>;
    /// Starts fetching every contact of the partner's Autotask (one fetch at a time).
    async fn start_fetch(&self, actor: &CurrentUser) -> Result<JobView, AppError>;
    /// Sets the destination and/or package chosen for importing the selected contacts.
    async fn set_choices(
        &self,
        actor: &CurrentUser,
        selection: ContactSelection,
        destination_id: Option<i64>,
        package_id: Option<i64>,
    ) -> Result<ChoicesSet, AppError>;
    /// Starts importing the selected contacts as backup users (each must have a destination
    /// and a package chosen; the error says which are missing).
    async fn start_import(&self, actor: &CurrentUser, selection: ContactSelection, retry_of: Option<i64>) -> Result<JobView, AppError>;
}

/// Backup users: the list, edits and deletion, and settling a Modified contact.
#[async_trait::async_trait]
pub trait BackupUserService: Send + Sync {
    /// A filtered page of the partner's backup users.
    async fn list(&self, partner_id: i64, query: BackupUserQuery) -> Result<BackupUserPage, AppError>;
    /// Changes a user (a new email unlinks it from its contact, as the seed says).
    async fn save(&self, actor: &CurrentUser, backup_user_id: i64, input: BackupUserInput) -> Result<BackupUserSaved, AppError>;
    /// Deletes a user; its contact shows blank again.
    async fn delete(&self, actor: &CurrentUser, backup_user_id: i64) -> Result<(), AppError>;
    /// "Update from Autotask" or "Keep Taskbridge's" on a Modified user.
    async fn resolve(&self, actor: &CurrentUser, backup_user_id: i64, resolution: Resolution) -> Result<(), AppError>;
}

/// The active customer and contract sync from Autotask.
#[async_trait::async_trait]
pub trait SyncService: Send + Sync {
    /// The settings and the last round.
    async fn settings(&self, partner_id: i64) -> Result<SyncSettings, AppError>;
    /// Switches sync types on or off and sets the interval (a type switched on runs soon).
    async fn save_settings(&self, actor: &CurrentUser, input: SyncSettingsInput) -> Result<SyncSettings, AppError>;
    /// A filtered page of the followed companies with their contracts.
    async fn clients(&self, partner_id: i64, query: ClientQuery) -> Result<ClientPage, AppError>;
    /// Runs a round now, as a job with progress.
    async fn sync_now(&self, actor: &CurrentUser) -> Result<JobView, AppError>;
    /// Syncs one company again (Retry on a failed or skipped row).
    async fn retry(&self, actor: &CurrentUser, company_id: i64) -> Result<ClientRow, AppError>;
    /// Syncs these companies again as a job, a run retrying run `retry_of` (History's
    /// Retry failed on a sync round or a webhook delivery).
    async fn retry_companies(&self, actor: &CurrentUser, company_ids: Vec<i64>, retry_of: Option<i64>) -> Result<JobView, AppError>;
    /// Instant updates: the registered webhook and what it delivered.
    async fn instant_updates(&self, partner_id: i64) -> Result<InstantUpdates, AppError>;
    /// Registers the company webhook in Autotask, calling `callout_base` (which must be the
    /// configured public address the admin confirmed).
    async fn enable_instant_updates(&self, actor: &CurrentUser, callout_base: String) -> Result<InstantUpdates, AppError>;
    /// Deletes the webhook in Autotask and forgets it (polling goes on).
    async fn disable_instant_updates(&self, actor: &CurrentUser) -> Result<InstantUpdates, AppError>;
}

/// Everything a server function may touch. Built once by `server`, provided as context.
#[derive(Clone)]
pub struct Services {
    /// Sign-in and sessions.
    pub auth: Arc<dyn AuthService>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// API tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Home page.
    pub overview: Arc<dyn OverviewStore>,
    /// Autotask connection.
    pub autotask: Arc<dyn AutotaskSettings>,
    /// Companies and import.
    pub companies: Arc<dyn CompanyService>,
    /// The Customer Map.
    pub map: Arc<dyn CustomerMapService>,
    /// Tickets and the event log.
    pub tickets: Arc<dyn TicketService>,
    /// Billing settings.
    pub billing: Arc<dyn BillingService>,
    /// Storage destinations and packages.
    pub storage: Arc<dyn StorageService>,
    /// Autotask contacts.
    pub contacts: Arc<dyn ContactService>,
    /// Backup users.
    pub backup_users: Arc<dyn BackupUserService>,
    /// The customer and contract sync.
    pub sync: Arc<dyn SyncService>,
    /// History.
    pub history: Arc<dyn HistoryService>,
    /// Deployment facts for the sign-in page.
    pub site: SiteInfo,
}

/// The services bundle, or `Internal` if the server forgot to provide it (a wiring bug).
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or(AppError::Internal)
}
