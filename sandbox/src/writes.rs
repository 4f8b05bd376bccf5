//! Creates and updates: field names matched case-insensitively, types checked, read-only
//! fields ignored, required fields, references and picklists validated with the messages
//! Autotask uses (all as HTTP 500 `{"errors":[...]}`).

use crate::error::ApiError;
use crate::schema;
use crate::store::{format_datetime, parse_datetime, Record, Tenant};
use crate::surface::surface;
use serde_json::{Map, Value};

fn singular(entity: &str) -> &'static str {
    crate::surface::ENTITIES.iter().find(|(e, _)| *e == entity).map(|(_, s)| *s).unwrap_or("Entity")
}

/// Turns a request body into canonical field values, checking types.
pub fn normalise(entity: &str, body: &Value, creating: bool) -> Result<Record, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::server("The request body must be a JSON object."));
    };
    let mut out = Map::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("userDefinedFields") {
            let Some(list) = value.as_array() else {
                return Err(ApiError::server("userDefinedFields must be an array of {name, value}."));
            };
            for u in list {
                let name = u.get("name").or_else(|| u.get("Name")).and_then(Value::as_str).unwrap_or_default();
                if !schema::udfs(entity).iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    return Err(ApiError::server(format!("User-defined field {name} does not exist for the {} entity.", singular(entity))));
                }
            }
            out.insert("userDefinedFields".into(), value.clone());
            continue;
        }
        let Some(field) = surface().field(entity, key) else {
            // Unknown properties are ignored, as the real API's JSON binder does.
            continue;
        };
        if field.name == "id" {
            if !creating {
                out.insert("id".into(), value.clone());
            }
            continue;
        }
        if schema::read_only(entity, &field.name) {
            continue;
        }
        if value.is_null() {
            if creating {
                return Err(ApiError::server(format!("{}: a null value is not allowed on create; omit the field instead.", field.name)));
            }
            out.insert(field.name.clone(), Value::Null);
            continue;
        }
        let coerced = match field.data_type() {
            "integer" | "long" => match value {
                Value::Number(n) if n.is_i64() => value.clone(),
                Value::Number(n) => Value::from(n.as_f64().unwrap_or_default() as i64),
                Value::String(s) if s.trim().parse::<i64>().is_ok() => Value::from(s.trim().parse::<i64>().unwrap_or_default()),
                Value::Bool(b) => {
                    return Err(ApiError::server(format!(
                        "Unexpected character encountered while parsing value: {}. Path '{}'.",
                        if *b { 't' } else { 'f' },
                        field.name
                    )))
                }
                _ => return Err(ApiError::server(format!("Could not convert {value} to an integer. Path '{}'.", field.name))),
            },
            "double" => match value {
                Value::Number(_) => value.clone(),
                Value::String(s) if s.trim().parse::<f64>().is_ok() => Value::from(s.trim().parse::<f64>().unwrap_or_default()),
                _ => return Err(ApiError::server(format!("Could not convert {value} to a decimal. Path '{}'.", field.name))),
            },
            "boolean" => match value {
                Value::Bool(_) => value.clone(),
                Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => Value::Bool(s.eq_ignore_ascii_case("true")),
                _ => return Err(ApiError::server(format!("Could not convert {value} to a boolean. Path '{}'.", field.name))),
            },
            "datetime" => match value.as_str().and_then(parse_datetime) {
                // Service adjustments' effective dates are dates: no time-zone conversion.
                Some(_) if entity == "ContractServiceAdjustments" && field.name == "effectiveDate" => {
                    let day = value.as_str().unwrap_or_default().get(..10).unwrap_or_default().to_string();
                    Value::from(format!("{day}T00:00:00Z"))
                }
                Some(t) => Value::from(format_datetime(t)),
                None => return Err(ApiError::server(format!("Could not convert {value} to a date and time. Path '{}'.", field.name))),
            },
            _ => match value {
                Value::String(s) => Value::String(s.clone()),
                other => Value::String(other.to_string()),
            },
        };
        out.insert(field.name.clone(), coerced);
    }
    Ok(out)
}

/// Checks required fields (create) and references and picklists (create and update) of
/// the merged record.
pub fn validate(tenant: &Tenant, entity: &str, record: &Record, changed: &Record, creating: bool) -> Result<(), ApiError> {
    if creating {
        for field in schema::required(entity) {
            if record.get(*field).is_none_or(Value::is_null) {
                return Err(ApiError::server(format!("{field} is required.; on record number [0].")));
            }
        }
    }
    for (field, value) in changed {
        if value.is_null() || field == "id" || field == "userDefinedFields" {
            continue;
        }
        if let Some(target) = schema::reference(entity, field) {
            let Some(id) = value.as_i64() else { continue };
            let referenced = tenant.get(target, id);
            // A webhook's children may be changed while the webhook is switched off.
            let active = referenced.is_some_and(|r| {
                field == "webhookID"
                    || match r.get("isActive") {
                        Some(Value::Bool(b)) => *b,
                        Some(Value::Number(n)) => n.as_i64() != Some(0),
                        _ => true,
                    }
            });
            if !active {
                return Err(ApiError::server(format!(
                    "Reference value on field: {field} of type: {} does not exist or is invalid.",
                    singular(target)
                )));
            }
        }
        if let Some(values) = schema::picklist(entity, field) {
            let Some(n) = value.as_i64() else { continue };
            match values.iter().find(|p| p.value == n) {
                None => return Err(ApiError::server(format!("Value {n} does not exist for picklist field {field}."))),
                Some(p) if !p.active => return Err(ApiError::server(format!("Value {n} ({}) is inactive for picklist field {field}.", p.label))),
                Some(p) => {
                    if let (Some(parent_value), Some(parent_field)) = (p.parent, schema::picklist_parent(entity, field)) {
                        let parent = record.get(parent_field).and_then(Value::as_i64);
                        if parent != Some(parent_value) {
                            return Err(ApiError::server(format!("Value {n} of {field} does not belong to the selected {parent_field}.")));
                        }
                    }
                }
            }
        }
    }
    if entity == "Tickets" {
        let has = |f: &str| record.get(f).is_some_and(|v| !v.is_null());
        if creating && !has("dueDateTime") {
            return Err(ApiError::server("dueDateTime is required.; on record number [0]."));
        }
        if has("assignedResourceID") != has("assignedResourceRoleID") {
            return Err(ApiError::server("When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID."));
        }
        if !has("queueID") && !has("assignedResourceID") {
            return Err(ApiError::server(
                "AssignedResourceID, AssignedResourceRoleID, and QueueID cannot all be empty. Supply a QueueID or both a AssignedResourceID and AssignedResourceRoleID.",
            ));
        }
    }
    if entity == "CompanyWebhooks" {
        webhook_limits(record)?;
    }
    if entity == "Contracts" {
        if let (Some(start), Some(end)) = (
            record.get("startDate").and_then(Value::as_str).and_then(parse_datetime),
            record.get("endDate").and_then(Value::as_str).and_then(parse_datetime),
        ) {
            if end < start {
                return Err(ApiError::server("The contract end date must be after its start date."));
            }
        }
    }
    Ok(())
}

/// A webhook's documented lengths, and URLs a callout can be sent to.
fn webhook_limits(record: &Record) -> Result<(), ApiError> {
    for (field, max) in [("name", 50), ("webhookUrl", 500), ("deactivationUrl", 500), ("secretKey", 64), ("notificationEmailAddress", 150)] {
        let len = record.get(field).and_then(Value::as_str).map_or(0, |s| s.chars().count());
        if len > max {
            return Err(ApiError::server(format!("{field} exceeds the maximum length of {max} characters.")));
        }
    }
    for field in ["webhookUrl", "deactivationUrl"] {
        let url = record.get(field).and_then(Value::as_str).unwrap_or_default();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
            return Err(ApiError::server(format!("{field} must be an absolute http or https URL.")));
        }
    }
    Ok(())
}

/// A new webhook's GUID (the callouts carry it for routing).
fn new_guid(seed: u64) -> String {
    use rand_xoshiro::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_xoshiro::SplitMix64::seed_from_u64(seed);
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff, (b >> 48) & 0x3fff | 0x8000, b & 0xffff_ffff_ffff)
}

/// Sets the fields Autotask computes on create.
pub fn on_create(tenant: &mut Tenant, entity: &str, record: &mut Record) {
    let now = chrono::Utc::now();
    let stamp = Value::from(format_datetime(now));
    match entity {
        "Tickets" => {
            let day = now.format("%Y%m%d").to_string();
            let n = tenant.ticket_numbers.entry(day.clone()).or_default();
            *n += 1;
            record.insert("ticketNumber".into(), Value::from(format!("T{day}.{:04}", n)));
            record.insert("createDate".into(), stamp.clone());
            record.insert("creatorResourceID".into(), Value::from(crate::generate::RESOURCES[0].0));
            record.insert("lastTrackedModificationDateTime".into(), stamp.clone());
            record.insert("lastActivityDate".into(), stamp);
        }
        "TicketNotes" => {
            record.insert("createDateTime".into(), stamp.clone());
            record.insert("lastActivityDate".into(), stamp);
            record.insert("creatorResourceID".into(), Value::from(crate::generate::RESOURCES[0].0));
        }
        "Companies" => {
            record.insert("createDate".into(), stamp.clone());
            record.insert("lastTrackedModifiedDateTime".into(), stamp);
        }
        "Contacts" | "Services" | "ServiceBundles" => {
            record.insert("createDate".into(), stamp.clone());
            record.insert("lastModifiedDate".into(), stamp);
        }
        "Contracts" => {
            record.insert("lastModifiedDateTime".into(), stamp);
        }
        "CompanyWebhooks" => {
            let seed = now.timestamp_nanos_opt().unwrap_or_default() as u64 ^ tenant.table(entity).next_id as u64;
            record.insert("webhookGUID".into(), Value::from(new_guid(seed)));
            // Ready once a field is subscribed.
            record.insert("isReady".into(), Value::Bool(false));
        }
        _ => {}
    }
}

/// A webhook is ready once it has at least one subscribed field or UDF field.
pub fn refresh_webhook_ready(tenant: &mut Tenant, webhook_id: i64) {
    let subscribed = ["CompanyWebhookFields", "CompanyWebhookUdfFields"].iter().any(|child| {
        tenant.rows(child).is_some_and(|rows| {
            rows.values()
                .any(|r| r.get("webhookID").and_then(Value::as_i64) == Some(webhook_id) && r.get("isSubscribedField") == Some(&Value::Bool(true)))
        })
    });
    if let Some(mut hook) = tenant.get("CompanyWebhooks", webhook_id).cloned() {
        hook.insert("isReady".into(), Value::Bool(subscribed));
        tenant.replace("CompanyWebhooks", webhook_id, hook);
    }
}

/// Sets the fields Autotask computes on update.
pub fn on_update(entity: &str, before: &Record, record: &mut Record) {
    let stamp = Value::from(format_datetime(chrono::Utc::now()));
    match entity {
        "Tickets" => {
            record.insert("lastTrackedModificationDateTime".into(), stamp.clone());
            record.insert("lastActivityDate".into(), stamp.clone());
            let was_complete = before.get("status").and_then(Value::as_i64) == Some(schema::STATUS_COMPLETE);
            let is_complete = record.get("status").and_then(Value::as_i64) == Some(schema::STATUS_COMPLETE);
            if is_complete && !was_complete {
                record.insert("completedDate".into(), stamp);
                record.insert("completedByResourceID".into(), Value::from(crate::generate::RESOURCES[0].0));
            } else if !is_complete {
                record.insert("completedDate".into(), Value::Null);
            }
        }
        "Companies" => {
            record.insert("lastTrackedModifiedDateTime".into(), stamp);
        }
        "Contacts" | "Services" | "ServiceBundles" => {
            record.insert("lastModifiedDate".into(), stamp);
        }
        "Contracts" => {
            record.insert("lastModifiedDateTime".into(), stamp);
        }
        _ => {}
    }
}
