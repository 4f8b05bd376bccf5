//! What the Swagger does not say about this sandbox tenant: required fields, read-only
//! fields, references, picklists (tenant data, as a real Autotask would report them in
//! `entityInformation/fields`) and user-defined fields.

use serde_json::{json, Value};

/// One picklist value.
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    /// Stored value (sent as a string in field info).
    pub value: i64,
    /// Label.
    pub label: &'static str,
    /// Inactive values stay on old records but are refused on writes.
    pub active: bool,
    /// System values (New, Complete...).
    pub system: bool,
    /// The default for new records.
    pub default: bool,
    /// For dependent picklists: the parent field's value.
    pub parent: Option<i64>,
}

const fn p(value: i64, label: &'static str) -> Pick {
    Pick { value, label, active: true, system: false, default: false, parent: None }
}
const fn sys(value: i64, label: &'static str) -> Pick {
    Pick { value, label, active: true, system: true, default: false, parent: None }
}
const fn def(value: i64, label: &'static str) -> Pick {
    Pick { value, label, active: true, system: false, default: true, parent: None }
}
const fn off(value: i64, label: &'static str) -> Pick {
    Pick { value, label, active: false, system: false, default: false, parent: None }
}
const fn child(value: i64, label: &'static str, parent: i64) -> Pick {
    Pick { value, label, active: true, system: false, default: false, parent: Some(parent) }
}

/// The id of the "Managed Services Alerts" queue.
pub const QUEUE_MANAGED_SERVICES_ALERTS: i64 = 29_683_354;
/// Ticket status New (system value).
pub const STATUS_NEW: i64 = 1;
/// Ticket status Complete (system value).
pub const STATUS_COMPLETE: i64 = 5;
/// Company type Customer.
pub const COMPANY_CUSTOMER: i64 = 1;
/// Contract type Recurring Service.
pub const CONTRACT_RECURRING: i64 = 7;
/// Service period type Monthly.
pub const PERIOD_MONTHLY: i64 = 1;

/// Picklist values of `entity.field`, if it is a picklist.
pub fn picklist(entity: &str, field: &str) -> Option<&'static [Pick]> {
    Some(match (entity, field) {
        ("Companies", "companyType") => {
            const { &[def(1, "Customer"), p(2, "Lead"), p(3, "Prospect"), p(4, "Dead"), p(6, "Cancellation"), p(7, "Vendor"), p(8, "Partner")] }
        }
        ("Companies", "classification") => const { &[p(1, "Gold"), p(2, "Silver"), p(3, "Bronze"), off(4, "Legacy")] },
        ("Contracts", "contractType") => {
            const {
                &[
                    p(1, "Time and Materials"),
                    p(3, "Fixed Price"),
                    p(4, "Block Hours"),
                    p(6, "Retainer"),
                    def(7, "Recurring Service"),
                    p(8, "Per Ticket"),
                ]
            }
        }
        ("Contracts", "status") => const { &[p(0, "Inactive"), def(1, "Active")] },
        ("Contracts", "contractCategory") => const { &[def(1, "Standard"), p(2, "Managed Services"), p(3, "Backup and DR")] },
        ("Contracts", "contractPeriodType") => const { &[def(1, "Monthly"), p(2, "Quarterly"), p(3, "Semi-Annual"), p(4, "Yearly")] },
        ("Contracts", "billingPreference") => const { &[def(1, "Manual"), p(2, "Immediate"), p(3, "Timesheet")] },
        ("Services" | "ServiceBundles", "periodType") => {
            const { &[def(1, "Monthly"), p(2, "Quarterly"), p(3, "Semi-Annual"), p(4, "Yearly"), p(5, "One-Time")] }
        }
        ("Tickets", "queueID") => {
            const {
                &[
                    sys(5, "Client Portal"),
                    p(6, "Post Sale"),
                    p(8, "Monitoring Alert"),
                    def(QUEUE_MANAGED_SERVICES_ALERTS, "Managed Services Alerts"),
                    p(29_683_355, "Level I Support"),
                    p(29_683_356, "Level II Support"),
                    off(29_683_357, "Old Backup Queue"),
                ]
            }
        }
        ("Tickets", "priority") => const { &[p(4, "Critical"), p(1, "High"), def(2, "Medium"), p(3, "Low"), off(5, "Planning")] },
        ("Tickets", "status") => {
            const {
                &[
                    Pick { value: STATUS_NEW, label: "New", active: true, system: true, default: true, parent: None },
                    sys(STATUS_COMPLETE, "Complete"),
                    p(7, "Waiting Customer"),
                    p(8, "In Progress"),
                    p(9, "Waiting Materials"),
                    p(10, "Dispatched"),
                    p(11, "Escalated"),
                    p(12, "Waiting Vendor"),
                    p(13, "Waiting Approval"),
                    off(14, "On Hold (retired)"),
                ]
            }
        }
        ("Tickets", "ticketType") => {
            const { &[def(1, "Service Request"), p(2, "Incident"), p(3, "Problem"), p(4, "Change Request"), sys(5, "Alert")] }
        }
        ("Tickets", "source") => {
            const { &[p(-1, "Insourced"), p(2, "Phone"), p(4, "Email"), p(6, "Web Portal"), sys(8, "Monitoring Alert"), def(13, "Other")] }
        }
        ("Tickets", "ticketCategory") => const { &[def(1, "Standard"), p(2, "RMA"), p(3, "Monitoring Alert")] },
        ("Tickets", "issueType") => const { &[p(1, "Backup"), p(2, "Hardware"), p(3, "Network")] },
        ("Tickets", "subIssueType") => {
            const {
                &[
                    child(10, "Backup failed", 1),
                    child(11, "Archiving failed", 1),
                    child(12, "Restore request", 1),
                    child(20, "Appliance hardware failure", 2),
                    child(21, "Disk failure", 2),
                    child(30, "Connectivity", 3),
                ]
            }
        }
        ("TicketNotes", "noteType") => const { &[def(1, "Task Summary"), p(2, "Task Detail"), p(3, "Task Notes"), p(13, "Internal Note")] },
        ("TicketNotes", "publish") => const { &[def(1, "All Autotask Users"), p(2, "Internal Project Team"), p(3, "Internal & Co-managed")] },
        ("Contacts", "namePrefix") => const { &[p(1, "Mr."), p(2, "Mrs."), p(3, "Ms."), p(4, "Dr.")] },
        ("CompanyWebhookFields", "fieldID") => const { &COMPANY_WEBHOOK_PICKS },
        ("CompanyWebhookUdfFields", "udfFieldID") => const { &[p(1, "Backup Customer ID"), p(2, "Customer Ranking"), p(3, "Data Region")] },
        _ => return None,
    })
}

/// The company fields a webhook can subscribe to: (`fieldID`, label, Company field). The
/// ids are the tenant's picklist values (7 Company Name and 24 Company Type as Autotask's
/// own examples use them); clients look them up in `entityInformation/fields`.
pub const COMPANY_WEBHOOK_FIELDS: [(i64, &str, &str); 20] = [
    (1, "Address 1", "address1"),
    (2, "Address 2", "address2"),
    (3, "City", "city"),
    (4, "State", "state"),
    (5, "Postal Code", "postalCode"),
    (6, "Country", "countryID"),
    (7, "Company Name", "companyName"),
    (8, "Phone", "phone"),
    (9, "Alternate Phone 1", "alternatePhone1"),
    (10, "Alternate Phone 2", "alternatePhone2"),
    (11, "Fax", "fax"),
    (12, "Web Address", "webAddress"),
    (13, "Active", "isActive"),
    (14, "Company Number", "companyNumber"),
    (15, "Owner", "ownerResourceID"),
    (16, "Classification", "classification"),
    (17, "Parent Company", "parentCompanyID"),
    (18, "Additional Address Information", "additionalAddressInformation"),
    (19, "Tax ID", "taxID"),
    (24, "Company Type", "companyType"),
];

const COMPANY_WEBHOOK_PICKS: [Pick; 20] = {
    let mut out = [p(0, ""); 20];
    let mut i = 0;
    while i < 20 {
        out[i] = p(COMPANY_WEBHOOK_FIELDS[i].0, COMPANY_WEBHOOK_FIELDS[i].1);
        i += 1;
    }
    out
};

/// For dependent picklists, the field whose value filters this one.
pub fn picklist_parent(entity: &str, field: &str) -> Option<&'static str> {
    match (entity, field) {
        ("Tickets", "subIssueType") => Some("issueType"),
        _ => None,
    }
}

/// Reference fields: field → referenced entity (`referenceEntityType` is the singular name).
pub fn reference(entity: &str, field: &str) -> Option<&'static str> {
    Some(match (entity, field) {
        (_, "companyID" | "parentCompanyID" | "billToCompanyID" | "vendorCompanyID") => "Companies",
        (_, "countryID" | "billToCountryID") => "Countries",
        (_, "contactID" | "billToCompanyContactID") => "Contacts",
        (_, "contractID") => "Contracts",
        (_, "serviceID") => "Services",
        (_, "contractServiceID") => "ContractServices",
        (_, "serviceBundleID") => "ServiceBundles",
        (_, "ticketID") => "Tickets",
        (_, "webhookID") => "CompanyWebhooks",
        (_, "resourceID") => "Resources",
        (_, "ownerResourceID" | "assignedResourceID" | "creatorResourceID" | "completedByResourceID") => "Resources",
        _ => return None,
    })
}

/// Fields a create must carry.
pub fn required(entity: &str) -> &'static [&'static str] {
    match entity {
        "Companies" => const { &["companyName", "companyType", "ownerResourceID"] },
        "Contacts" => const { &["companyID", "firstName", "lastName", "isActive"] },
        "Contracts" => const { &["companyID", "contractName", "contractType", "startDate", "endDate", "status"] },
        "ContractServices" => const { &["contractID", "serviceID", "unitPrice"] },
        "ContractServiceBundles" => const { &["contractID", "serviceBundleID", "unitPrice"] },
        "ContractServiceAdjustments" => const { &["contractID", "effectiveDate", "unitChange"] },
        "Services" => const { &["name", "periodType", "unitPrice"] },
        "ServiceBundles" => const { &["name", "periodType"] },
        "ServiceBundleServices" => const { &["serviceBundleID", "serviceID"] },
        "Tickets" => const { &["companyID", "title", "status", "priority"] },
        "TicketNotes" => const { &["ticketID", "description", "noteType", "publish"] },
        "CompanyWebhooks" => const { &["name", "webhookUrl", "deactivationUrl", "secretKey", "isActive"] },
        "CompanyWebhookFields" => const { &["webhookID", "fieldID"] },
        "CompanyWebhookUdfFields" => const { &["webhookID", "udfFieldID"] },
        "CompanyWebhookExcludedResources" => const { &["webhookID", "resourceID"] },
        _ => const { &[] },
    }
}

/// Fields the API computes; values sent for them are ignored.
pub fn read_only(entity: &str, field: &str) -> bool {
    matches!(
        (entity, field),
        (_, "id")
            | (_, "createDate" | "createDateTime" | "lastActivityDate" | "lastModifiedDate" | "lastModifiedDateTime")
            | (_, "lastTrackedModifiedDateTime" | "lastTrackedModificationDateTime" | "creatorResourceID" | "createdByResourceID")
            | ("Tickets", "ticketNumber" | "completedDate" | "completedByResourceID" | "creatorType" | "lastActivityPersonType")
            | ("ContractServiceUnits", _)
            | ("WebhookEventErrorLogs", _)
            | ("CompanyWebhooks", "webhookGUID" | "isReady")
    )
}

/// Fields that cannot be used in filters.
pub fn queryable(entity: &str, field: &str) -> bool {
    !matches!(
        (entity, field),
        ("Companies", "assetValue" | "sicCode" | "stockMarket" | "stockSymbol" | "quoteTemplateID")
            | ("Tickets", "creatorType" | "lastActivityPersonType")
    )
}

/// User-defined fields of an entity: (name, label, picklist labels).
pub fn udfs(entity: &str) -> &'static [(&'static str, &'static str)] {
    match entity {
        "Companies" => const { &[("Backup Customer ID", "string"), ("Customer Ranking", "string"), ("Data Region", "string")] },
        "Contacts" => const { &[("Backup User", "string")] },
        "Tickets" => const { &[("Backup Incident Key", "string")] },
        "Contracts" => const { &[("Billing Notes", "string")] },
        _ => const { &[] },
    }
}

/// Entities whose changes Autotask can call out as webhooks.
pub fn supports_webhooks(entity: &str) -> bool {
    matches!(entity, "Companies" | "Contacts" | "Tickets" | "TicketNotes")
}

/// `picklistValues` JSON of a field (null when it is not a picklist).
pub fn picklist_json(entity: &str, field: &str) -> Value {
    match picklist(entity, field) {
        None => Value::Null,
        Some(values) => Value::Array(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    json!({
                        "value": v.value.to_string(),
                        "label": v.label,
                        "isDefaultValue": v.default,
                        "sortOrder": i as i64 + 1,
                        "parentValue": v.parent.map(|p| p.to_string()).unwrap_or_default(),
                        "isActive": v.active,
                        "isSystem": v.system,
                    })
                })
                .collect(),
        ),
    }
}
