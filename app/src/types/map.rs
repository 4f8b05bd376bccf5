//! The Customer Map: Taskbridge customers beside Autotask companies, suggestions, staged
//! changes, and billing contracts.

use super::UnixMillis;
use serde::{Deserialize, Serialize};

/// Something worth a look on a mapped pair or a contract: what it is and plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// What it is.
    pub code: FlagCode,
    /// What it means.
    pub message: String,
}

/// The kinds of flag (snake_case on the wire: `renamed`, `not_customer`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCode {
    /// A side was renamed since the link was made (the link holds by ID).
    Renamed,
    /// The company is no longer in Autotask.
    Missing,
    /// The company or contract is inactive in Autotask.
    Inactive,
    /// The company's type is not Customer.
    NotCustomer,
    /// The contract is not a Recurring Service contract.
    NotRecurring,
    /// The contract has ended.
    Expired,
    /// The contract's services sit only inside a bundle.
    BundleOnly,
    /// No service is attached to the contract yet (not blocking: a push may add one).
    NoServices,
}

impl FlagCode {
    /// The badge's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Renamed => "Renamed",
            Self::Missing => "Missing",
            Self::Inactive => "Inactive",
            Self::NotCustomer => "Not a Customer",
            Self::NotRecurring => "Not recurring",
            Self::Expired => "Expired",
            Self::BundleOnly => "Bundle only",
            Self::NoServices => "No services",
        }
    }

    /// Whether choosing a contract with this flag needs a confirmation.
    pub fn blocks_billing(self) -> bool {
        self != Self::NoServices
    }
}

/// The Taskbridge-side filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CustomerFilter {
    /// Customers without an Autotask company (the default).
    #[default]
    Unmatched,
    /// Customers with one.
    Matched,
    /// Everyone.
    All,
}

/// The Autotask-side filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CompanyFilter {
    /// Every company.
    #[default]
    All,
    /// Not matched, with a suggested customer.
    Suggested,
    /// Not matched and no suggestion.
    Unmatched,
    /// Matched to one or more customers.
    Matched,
}

/// A page request for either side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapQuery {
    /// Part of the name (or an exact id).
    #[serde(default)]
    pub search: String,
    /// Taskbridge-side filter (customer list).
    #[serde(default)]
    pub customers: CustomerFilter,
    /// Autotask-side filter (company list).
    #[serde(default)]
    pub companies: CompanyFilter,
    /// 1-based.
    pub page: u32,
    /// Rows per page (≤ 200).
    pub per_page: u32,
}

impl Default for MapQuery {
    fn default() -> Self {
        Self { search: String::new(), customers: CustomerFilter::Unmatched, companies: CompanyFilter::All, page: 1, per_page: 50 }
    }
}

/// A name-based suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The other side's id (company id on a customer row, customer id on a company row).
    pub id: i64,
    /// The other side's name.
    pub name: String,
    /// 100 = exact name ("3 star"); lower = near match.
    pub score: u8,
    /// Why (case, punctuation, &/and, legal suffix).
    pub reason: String,
}

/// The score of an exact-name suggestion (the seed's "3 star" match).
pub const EXACT_SCORE: u8 = 100;

impl Suggestion {
    /// Exact spelling: the seed's "3 star" match.
    pub fn exact(&self) -> bool {
        self.score >= EXACT_SCORE
    }
}

/// An exact-name suggestion, on any page of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactMatch {
    /// The customer.
    pub customer_id: i64,
    /// Its name.
    pub customer_name: String,
    /// The company suggested for it.
    pub company_id: i64,
    /// The company's name.
    pub company_name: String,
}

/// Every exact match of the map's search and filter (as many as one save takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactMatches {
    /// The matches, by customer name.
    pub matches: Vec<ExactMatch>,
    /// How many there are in all (more than `matches` when over a save's limit).
    pub total: i64,
}

/// An Autotask company linked to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedCompany {
    /// Autotask company ID.
    pub company_id: i64,
    /// Its name now (or at link time when Autotask no longer has it).
    pub name: String,
    /// Renamed, inactive, missing, not of type Customer.
    pub flags: Vec<Flag>,
    /// How many customers share this company (>1: a 1-to-many group).
    pub customers: i64,
}

/// The chosen billing contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenContract {
    /// Autotask contract ID.
    pub contract_id: i64,
    /// Its name.
    pub name: String,
    /// Flags the partner confirmed when choosing it.
    pub flags: Option<String>,
}

/// A customer row (Taskbridge side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    /// Taskbridge customer id.
    pub customer_id: i64,
    /// Name.
    pub name: String,
    /// Data region code.
    pub region: String,
    /// Linked Autotask companies.
    pub companies: Vec<LinkedCompany>,
    /// Best suggestion when unmatched.
    pub suggestion: Option<Suggestion>,
    /// Billing contract.
    pub contract: Option<ChosenContract>,
}

/// A customer linked to a company (Autotask side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedCustomer {
    /// Id.
    pub customer_id: i64,
    /// Name.
    pub name: String,
    /// How many companies this customer has (>1: a 1-to-many group).
    pub companies: i64,
    /// Renamed since linking.
    pub flags: Vec<Flag>,
}

/// A company row (Autotask side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyRow {
    /// Autotask company ID.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// Type label.
    pub type_label: String,
    /// Active in Autotask.
    pub active: bool,
    /// Type Customer (others may not behave as expected).
    pub is_customer_type: bool,
    /// Gone from Autotask at the last discovery.
    pub missing: bool,
    /// Its main phone number, as Autotask has it.
    pub phone: Option<String>,
    /// Its web site, as Autotask has it.
    pub web: Option<String>,
    /// Linked customers.
    pub customers: Vec<LinkedCustomer>,
    /// Suggested customer when unmatched.
    pub suggestion: Option<Suggestion>,
}

/// Headline counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapCounts {
    /// Taskbridge customers.
    pub customers: i64,
    /// Of which matched.
    pub customers_matched: i64,
    /// Discovered companies.
    pub companies: i64,
    /// Of which matched.
    pub companies_matched: i64,
    /// Unmatched customers with a suggestion.
    pub suggested: i64,
    /// Of which exact ("3 star").
    pub exact: i64,
}

/// A page of customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerMapPage {
    /// Rows.
    pub rows: Vec<CustomerRow>,
    /// Matching the filter.
    pub total: i64,
    /// Page shown.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Counts.
    pub counts: MapCounts,
}

/// A page of companies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyMapPage {
    /// Rows.
    pub rows: Vec<CompanyRow>,
    /// Matching the filter.
    pub total: i64,
    /// Page shown.
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
    /// Counts.
    pub counts: MapCounts,
}

/// One staged change on the map; Save applies a list of them at once, or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum MapChange {
    /// Link a customer to a company (by Autotask ID).
    Link { customer_id: i64, company_id: i64 },
    /// Remove a link.
    Unlink { customer_id: i64, company_id: i64 },
    /// Create a Taskbridge customer from a company, linked to it.
    CreateCustomer { company_id: i64 },
    /// Choose (or clear) the billing contract; `confirm_flags` accepts a flagged contract.
    SetContract { customer_id: i64, contract_id: Option<i64>, confirm_flags: bool },
}

/// What Save did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapSaved {
    /// Changes applied.
    pub applied: usize,
    /// Customers created (company id, customer id).
    pub created: Vec<(i64, i64)>,
}

/// An Autotask company found by the ID typed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyRef {
    /// Its Autotask ID.
    pub company_id: i64,
    /// Its name.
    pub name: String,
    /// Its type's label (Customer, Prospect ...).
    pub type_label: String,
    /// Active in Autotask.
    pub is_active: bool,
}

/// One of a customer's Autotask contracts, as "Get contracts" lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractOption {
    /// Autotask contract ID.
    pub contract_id: i64,
    /// Company it belongs to.
    pub company_id: i64,
    /// Name.
    pub name: String,
    /// Contract number.
    pub number: String,
    /// Type label (Recurring Service, Time & Materials...).
    pub type_label: String,
    /// Start (YYYY-MM-DD).
    pub start: String,
    /// End (YYYY-MM-DD).
    pub end: String,
    /// Services attached directly.
    pub services: i64,
    /// Service bundles attached.
    pub bundles: i64,
    /// Why it should not be the billing contract (empty: fine).
    pub flags: Vec<Flag>,
}

/// A change in the map's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapHistoryEntry {
    /// When.
    pub at: UnixMillis,
    /// Who.
    pub actor: String,
    /// What.
    pub summary: String,
}
