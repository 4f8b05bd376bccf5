//! What a company change calls out, to which webhooks, signed how.

use super::{Change, Hooks};
use crate::schema::{udfs, COMPANY_WEBHOOK_FIELDS};
use crate::store::{Record, Tenant};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;

/// One callout, ready to send.
#[derive(Debug, Clone)]
pub struct Callout {
    /// The webhook it belongs to.
    pub webhook_id: i64,
    /// Where it goes.
    pub url: String,
    /// The JSON body, as sent.
    pub body: String,
    /// The `X-Hook-Signature` value.
    pub signature: String,
    /// Its sequence number.
    pub sequence: i64,
}

fn is_true(record: &Record, field: &str) -> bool {
    record.get(field) == Some(&Value::Bool(true))
}

fn children<'a>(tenant: &'a Tenant, entity: &str, webhook_id: i64) -> impl Iterator<Item = &'a Record> {
    tenant.rows(entity).into_iter().flat_map(|rows| rows.values()).filter(move |r| r.get("webhookID").and_then(Value::as_i64) == Some(webhook_id))
}

/// A field's value as the callout carries it: text, as .NET writes it.
fn text(value: Option<&Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => Value::from(s.as_str()),
        Some(Value::Bool(b)) => Value::from(if *b { "True" } else { "False" }),
        Some(other) => Value::from(other.to_string()),
    }
}

fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn udf_value(record: &Record, name: &str) -> Value {
    let found = record
        .get("userDefinedFields")
        .and_then(Value::as_array)
        .and_then(|list| list.iter().find(|u| u.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name))));
    text(found.and_then(|u| u.get("value")))
}

/// The callouts `change` causes, one per subscribed webhook (and per URL).
pub fn callouts(tenant: &Tenant, change: &Change<'_>, hooks: &Hooks, now: &str) -> Vec<Callout> {
    let mut out: Vec<Callout> = Vec::new();
    let Some(webhooks) = tenant.rows("CompanyWebhooks") else { return out };
    let subscription = match change.action {
        "Create" => "isSubscribedToCreateEvents",
        "Delete" => "isSubscribedToDeleteEvents",
        _ => "isSubscribedToUpdateEvents",
    };
    for (id, hook) in webhooks {
        if !is_true(hook, "isActive") || !is_true(hook, "isReady") || !is_true(hook, subscription) {
            continue;
        }
        if children(tenant, "CompanyWebhookExcludedResources", *id).any(|r| r.get("resourceID").and_then(Value::as_i64) == Some(change.person)) {
            continue;
        }
        let url = hook.get("webhookUrl").and_then(Value::as_str).unwrap_or_default();
        // Duplicate callouts (same entity, URL and event) are suppressed.
        if out.iter().any(|c| c.url.eq_ignore_ascii_case(url)) {
            continue;
        }
        let Some(fields) = fields(tenant, *id, change) else { continue };
        let sequence = hooks.next_sequence(*id);
        let body = json!({
            "Action": change.action,
            "Guid": hook.get("webhookGUID").cloned().unwrap_or(Value::Null),
            "EntityType": "Company",
            "Id": change.after.get("id").cloned().unwrap_or(Value::Null),
            "Fields": fields,
            "EventTime": now,
            "SequenceNumber": sequence,
            "PersonID": change.person,
        })
        .to_string();
        let secret = hook.get("secretKey").and_then(Value::as_str).unwrap_or_default();
        let signature = sign(secret, &body, hooks.escaped.load(Ordering::SeqCst));
        out.push(Callout { webhook_id: *id, url: url.to_string(), body, signature, sequence });
    }
    out
}

/// The `Fields` of a callout: the subscribed fields that changed (all that have a value,
/// on create) plus the display-always ones; None when an update changed no subscribed field.
fn fields(tenant: &Tenant, webhook_id: i64, change: &Change<'_>) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut subscribed_changed = change.action != "Update";
    for f in children(tenant, "CompanyWebhookFields", webhook_id) {
        let Some((_, _, name)) = COMPANY_WEBHOOK_FIELDS.iter().find(|(id, _, _)| Some(*id) == f.get("fieldID").and_then(Value::as_i64)) else {
            continue;
        };
        let now = change.after.get(*name);
        let changed = match change.before {
            Some(before) => before.get(*name) != now,
            None => now.is_some_and(|v| !v.is_null()),
        };
        if is_true(f, "isSubscribedField") && changed {
            subscribed_changed = true;
            out.insert(pascal(name), text(now));
        } else if is_true(f, "isDisplayAlwaysField") {
            out.insert(pascal(name), text(now));
        }
    }
    let mut udf_out = Vec::new();
    for f in children(tenant, "CompanyWebhookUdfFields", webhook_id) {
        let Some((name, _)) = f.get("udfFieldID").and_then(Value::as_i64).and_then(|i| udfs("Companies").get((i - 1).max(0) as usize)) else {
            continue;
        };
        let now = udf_value(change.after, name);
        let changed = change.before.is_none_or(|b| udf_value(b, name) != now);
        if (is_true(f, "isSubscribedField") && changed) || is_true(f, "isDisplayAlwaysField") {
            subscribed_changed |= is_true(f, "isSubscribedField") && changed;
            udf_out.push(json!({"Name": name, "Value": now}));
        }
    }
    if !udf_out.is_empty() {
        out.insert("UserDefinedFields".into(), Value::Array(udf_out));
    }
    subscribed_changed.then_some(out)
}

/// The notice sent to a webhook's deactivation URL when it is switched off.
pub fn deactivation(hook: &Record, hooks: &Hooks, now: &str) -> Callout {
    let body = json!({
        "Action": "Deactivated",
        "Guid": hook.get("webhookGUID").cloned().unwrap_or(Value::Null),
        "EntityType": "CompanyWebhook",
        "Id": hook.get("id").cloned().unwrap_or(Value::Null),
        "Fields": {"Name": text(hook.get("name")), "IsActive": "False"},
        "EventTime": now,
        "SequenceNumber": 0,
        "PersonID": Value::Null,
    })
    .to_string();
    let secret = hook.get("secretKey").and_then(Value::as_str).unwrap_or_default();
    Callout {
        webhook_id: hook.get("id").and_then(Value::as_i64).unwrap_or_default(),
        url: hook.get("deactivationUrl").and_then(Value::as_str).unwrap_or_default().to_string(),
        signature: sign(secret, &body, hooks.escaped.load(Ordering::SeqCst)),
        body,
        sequence: 0,
    }
}

/// `sha1=Base64(HMAC-SHA1(secret, body))`; with `escaped`, over the body as .NET's
/// serializer escapes it (what real zones were seen to sign when the two differ).
pub fn sign(secret: &str, body: &str, escaped: bool) -> String {
    let signed = if escaped { dotnet_escaped(body) } else { body.to_string() };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(signed.as_bytes());
    format!("sha1={}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// JSON text with string contents escaped the way .NET's default encoder does: the HTML-
/// sensitive characters `& < > ' " \` +` and everything outside ASCII as `\uXXXX`.
pub fn dotnet_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        if !in_string {
            in_string = c == '"';
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push(c);
            }
            '\\' => match chars.next() {
                Some('"') => out.push_str("\\u0022"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '&' | '<' | '>' | '\'' | '`' | '+' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_autotasks_documented_form() {
        // HMAC-SHA1 of "hello" with key "key", base64 (as Python's hmac module computes it).
        assert_eq!(sign("key", "hello", false), "sha1=s0zqxFFv8joUPmHXnQ+npPvl8mY=");
    }

    #[test]
    fn dotnet_escaping_touches_only_string_contents() {
        let body = json!({"Fields": {"CompanyName": "Müller & Söhne's <b>\"x\"+1"}, "Id": 7}).to_string();
        assert_eq!(
            dotnet_escaped(&body),
            r#"{"Fields":{"CompanyName":"M\u00FCller \u0026 S\u00F6hne\u0027s \u003Cb\u003E\u0022x\u0022\u002B1"},"Id":7}"#
        );
        assert_eq!(dotnet_escaped(r#"{"a":"plain"}"#), r#"{"a":"plain"}"#);
    }
}
