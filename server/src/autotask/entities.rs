//! Typed Autotask entities: the fields Taskbridge uses, tolerant of unknown fields (serde
//! ignores them) and of missing ones (`default`), with user-defined fields readable by name.

use serde::{Deserialize, Serialize};

/// A user-defined field value (always a string or null on the wire).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Udf {
    /// The UDF's name.
    pub name: String,
    /// Its value.
    pub value: Option<String>,
}

/// Reads a UDF by name (case-insensitive).
pub fn udf<'a>(udfs: &'a [Udf], name: &str) -> Option<&'a str> {
    udfs.iter().find(|u| u.name.eq_ignore_ascii_case(name)).and_then(|u| u.value.as_deref())
}

/// Entities that have an API name and an id.
pub trait Entity: serde::de::DeserializeOwned + Send + 'static {
    /// The URL name, e.g. `Companies`.
    const NAME: &'static str;
    /// The record's id.
    fn id(&self) -> i64;
}

macro_rules! entity {
    ($ty:ident, $name:literal) => {
        impl Entity for $ty {
            const NAME: &'static str = $name;
            fn id(&self) -> i64 {
                self.id
            }
        }
    };
}

/// `Companies`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    pub company_name: Option<String>,
    pub company_number: Option<String>,
    pub company_type: Option<i64>,
    pub is_active: Option<bool>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    #[serde(rename = "countryID")]
    pub country_id: Option<i64>,
    pub phone: Option<String>,
    pub alternate_phone1: Option<String>,
    pub alternate_phone2: Option<String>,
    pub fax: Option<String>,
    pub web_address: Option<String>,
    #[serde(rename = "parentCompanyID")]
    pub parent_company_id: Option<i64>,
    #[serde(rename = "ownerResourceID")]
    pub owner_resource_id: Option<i64>,
    pub create_date: Option<String>,
    pub last_tracked_modified_date_time: Option<String>,
    pub user_defined_fields: Vec<Udf>,
}
entity!(Company, "Companies");

/// `Contacts` (note: `isActive` is an integer here, unlike Companies).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Contact {
    pub id: i64,
    #[serde(rename = "companyID")]
    pub company_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_address: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub title: Option<String>,
    pub is_active: Option<i64>,
    pub primary_contact: Option<bool>,
    pub billing_contact: Option<bool>,
    #[serde(rename = "externalID")]
    pub external_id: Option<String>,
    pub last_modified_date: Option<String>,
    pub user_defined_fields: Vec<Udf>,
}
entity!(Contact, "Contacts");

/// `Countries`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Country {
    pub id: i64,
    pub country_code: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub is_active: Option<bool>,
    pub is_default_country: Option<bool>,
}
entity!(Country, "Countries");

/// `Currencies`: `name` is the ISO code; one is the internal currency Autotask totals in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Currency {
    pub id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub is_internal_currency: Option<bool>,
}
entity!(Currency, "Currencies");

/// `Contracts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Contract {
    pub id: i64,
    #[serde(rename = "companyID")]
    pub company_id: Option<i64>,
    pub contract_name: Option<String>,
    pub contract_number: Option<String>,
    pub contract_type: Option<i64>,
    pub contract_category: Option<i64>,
    pub status: Option<i64>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub estimated_revenue: Option<f64>,
    pub is_default_contract: Option<bool>,
    pub last_modified_date_time: Option<String>,
    pub user_defined_fields: Vec<Udf>,
}
entity!(Contract, "Contracts");

/// `Services`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Service {
    pub id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub period_type: Option<i64>,
    pub unit_price: Option<f64>,
    pub unit_cost: Option<f64>,
    pub is_active: Option<bool>,
}
entity!(Service, "Services");

/// `ServiceBundleServices`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceBundleService {
    pub id: i64,
    #[serde(rename = "serviceBundleID")]
    pub service_bundle_id: Option<i64>,
    #[serde(rename = "serviceID")]
    pub service_id: Option<i64>,
}
entity!(ServiceBundleService, "ServiceBundleServices");

/// `ContractServices`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContractService {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: Option<i64>,
    #[serde(rename = "serviceID")]
    pub service_id: Option<i64>,
    pub unit_price: Option<f64>,
    /// The price in the internal currency (equal to `unit_price` for a customer billed in it).
    pub internal_currency_unit_price: Option<f64>,
    pub invoice_description: Option<String>,
}
entity!(ContractService, "ContractServices");

/// `ContractServiceUnits`: units billed per period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContractServiceUnit {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: Option<i64>,
    #[serde(rename = "contractServiceID")]
    pub contract_service_id: Option<i64>,
    #[serde(rename = "serviceID")]
    pub service_id: Option<i64>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub units: Option<i64>,
    pub price: Option<f64>,
    #[serde(rename = "vendorCompanyID")]
    pub vendor_company_id: Option<i64>,
}
entity!(ContractServiceUnit, "ContractServiceUnits");

/// `Tickets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Ticket {
    pub id: i64,
    pub ticket_number: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "companyID")]
    pub company_id: Option<i64>,
    #[serde(rename = "queueID")]
    pub queue_id: Option<i64>,
    pub priority: Option<i64>,
    pub status: Option<i64>,
    #[serde(rename = "assignedResourceID")]
    pub assigned_resource_id: Option<i64>,
    #[serde(rename = "externalID")]
    pub external_id: Option<String>,
    pub create_date: Option<String>,
    pub completed_date: Option<String>,
    pub last_tracked_modification_date_time: Option<String>,
    pub user_defined_fields: Vec<Udf>,
}
entity!(Ticket, "Tickets");

/// `TicketNotes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TicketNote {
    pub id: i64,
    #[serde(rename = "ticketID")]
    pub ticket_id: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub note_type: Option<i64>,
    pub publish: Option<i64>,
    pub create_date_time: Option<String>,
}
entity!(TicketNote, "TicketNotes");

/// `Resources` (Autotask users).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Resource {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
}
entity!(Resource, "Resources");

/// `CompanyWebhooks`: a callout Autotask makes when companies change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CompanyWebhook {
    pub id: i64,
    pub name: Option<String>,
    pub webhook_url: Option<String>,
    #[serde(rename = "webhookGUID")]
    pub webhook_guid: Option<String>,
    pub is_active: Option<bool>,
    pub is_ready: Option<bool>,
}
entity!(CompanyWebhook, "CompanyWebhooks");

/// `ZoneInformation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ZoneInfo {
    /// Zone name, e.g. "America East".
    pub zone_name: String,
    /// REST base, ending in `/` (e.g. `https://webservices3.autotask.net/ATServicesRest/`).
    pub url: String,
    /// The web UI's base.
    pub web_url: String,
    /// The database id.
    pub ci: i64,
}

/// `ThresholdInformation`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThresholdInfo {
    /// Requests allowed per timeframe.
    pub external_request_threshold: i64,
    /// Minutes.
    pub request_threshold_timeframe: i64,
    /// Used so far.
    pub current_timeframe_request_count: i64,
}

/// One value of a picklist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PicklistValue {
    /// Stored value (a string on the wire, an integer in records).
    pub value: String,
    /// Label.
    pub label: String,
    /// Default for new records.
    pub is_default_value: bool,
    /// Display order.
    pub sort_order: i64,
    /// For dependent picklists.
    pub parent_value: Option<String>,
    /// Inactive values must not be used on writes.
    pub is_active: bool,
    /// System values (e.g. New, Complete).
    pub is_system: bool,
}

/// One field of `entityInformation/fields`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FieldInfo {
    pub name: String,
    pub data_type: String,
    pub is_required: bool,
    pub is_read_only: bool,
    pub is_queryable: bool,
    pub is_reference: bool,
    pub reference_entity_type: Option<String>,
    pub is_pick_list: bool,
    pub picklist_values: Option<Vec<PicklistValue>>,
    pub picklist_parent_value_field: Option<String>,
}
