//! Settings changes in the History: who changed which setting when, with the values
//! before and after, read from the settings themselves so no writer can forget a field.

use super::super::UnixMillis;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One setting that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    /// The setting, in words ("Queue", "Mappings 2 › Service").
    pub field: String,
    /// Its value before ("—": none).
    pub before: String,
    /// Its value after.
    pub after: String,
}

/// Keys that say when and by whom, not what: never a change of their own.
const STAMPS: [&str; 5] = ["updated_at", "updated_by", "created_at", "created_by", "saved_at"];

/// What changed between two versions of a setting, field by field, in the order serde_json
/// keeps object keys (sorted, or as written when a crate of the build enables its
/// `preserve_order`, as the server's do). A setting that is a picked value (an object with a `label` or `name`)
/// reads as that label; nested objects and lists are walked ("Mappings 2 › Service id").
pub fn diff(before: &Value, after: &Value) -> Vec<SettingChange> {
    let (mut was, mut now) = (Vec::new(), Vec::new());
    flatten("", before, &mut was);
    flatten("", after, &mut now);
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (field, _) in was.iter().chain(now.iter()) {
        if !seen.insert(field.clone()) {
            continue;
        }
        let find = |list: &[(String, String)]| list.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone()).unwrap_or_else(|| NONE.into());
        let (b, a) = (find(&was), find(&now));
        if b != a {
            out.push(SettingChange { field: field.clone(), before: b, after: a });
        }
    }
    out
}

/// The changes of a setting created from nothing (every field it has).
pub fn created(after: &Value) -> Vec<SettingChange> {
    diff(&Value::Null, after)
}

/// The changes of a setting deleted (every field it had).
pub fn deleted(before: &Value) -> Vec<SettingChange> {
    diff(before, &Value::Null)
}

/// How an absent or empty value reads.
pub const NONE: &str = "\u{2014}";

fn flatten(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            if let Some(label) = ["label", "name"].iter().find_map(|k| map.get(*k).and_then(Value::as_str)) {
                if !path.is_empty() {
                    out.push((path.to_string(), label.to_string()));
                    return;
                }
            }
            for (k, v) in map {
                if STAMPS.contains(&k.as_str()) {
                    continue;
                }
                flatten(&join(path, &words(k)), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let text: Vec<String> = items.iter().map(scalar).collect();
            out.push((path.to_string(), if text.is_empty() { NONE.into() } else { text.join(", ") }));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&join(path, &(i + 1).to_string()), item, out);
            }
        }
        Value::Null if path.is_empty() => {}
        other => out.push((path.to_string(), scalar(other))),
    }
}

fn join(path: &str, part: &str) -> String {
    if path.is_empty() {
        part.to_string()
    } else {
        format!("{path} \u{203a} {part}")
    }
}

/// `status_new` → "Status new".
fn words(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => NONE.into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) if s.is_empty() => NONE.into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What the settings-changes list asks for; every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeQuery {
    /// A [`ChangeArea`]'s stored form, or empty for all.
    pub area: String,
    /// Only changes about this customer.
    pub customer_id: Option<i64>,
    /// From this day (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// Up to this day, included.
    pub to: String,
    /// Words in the summary, who made it, or a changed value.
    pub search: String,
    /// Older than this change (the next page).
    pub before: Option<i64>,
    /// Newer than this change (the previous page).
    pub after: Option<i64>,
}

impl ChangeQuery {
    /// Whether any filter is set (paging aside).
    pub fn filtered(&self) -> bool {
        let texts = [&self.area, &self.from, &self.to, &self.search];
        self.customer_id.is_some() || texts.iter().any(|t| !t.trim().is_empty())
    }
}

/// Which part of the settings a change is about, read off its stored action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeArea {
    /// The Autotask connection.
    Connection,
    /// Ticket settings.
    Tickets,
    /// Notification rules.
    Notifications,
    /// Billing mappings and schedule.
    Billing,
    /// Customer and contract sync.
    Sync,
    /// Customer Map links and contracts.
    Map,
    /// Users and roles.
    Users,
    /// API tokens.
    Tokens,
    /// Storage destinations and packages.
    Storage,
    /// Backup users.
    BackupUsers,
    /// Sign-ins.
    SignIns,
    /// Customers registered by the backup platform, the partner itself.
    Other,
}

impl ChangeArea {
    /// Every area, in the order the filter lists them.
    pub const ALL: [ChangeArea; 12] = [
        ChangeArea::Connection,
        ChangeArea::Tickets,
        ChangeArea::Notifications,
        ChangeArea::Billing,
        ChangeArea::Sync,
        ChangeArea::Map,
        ChangeArea::Users,
        ChangeArea::Tokens,
        ChangeArea::Storage,
        ChangeArea::BackupUsers,
        ChangeArea::SignIns,
        ChangeArea::Other,
    ];

    /// Stored actions start with these (`"tickets.settings"`, `"rules.create"`).
    pub fn prefixes(self) -> &'static [&'static str] {
        match self {
            ChangeArea::Connection => &["autotask."],
            ChangeArea::Tickets => &["tickets."],
            ChangeArea::Notifications => &["rules."],
            ChangeArea::Billing => &["billing."],
            ChangeArea::Sync => &["sync_settings", "sync."],
            ChangeArea::Map => &["map."],
            ChangeArea::Users => &["user."],
            ChangeArea::Tokens => &["token."],
            ChangeArea::Storage => &["storage."],
            ChangeArea::BackupUsers => &["backup_users."],
            ChangeArea::SignIns => &["session."],
            ChangeArea::Other => &[],
        }
    }

    /// The area of a stored action.
    pub fn of_action(action: &str) -> Self {
        Self::ALL.into_iter().find(|a| a.prefixes().iter().any(|p| action.starts_with(p))).unwrap_or(ChangeArea::Other)
    }

    /// Stored form (the filter's value).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeArea::Connection => "connection",
            ChangeArea::Tickets => "tickets",
            ChangeArea::Notifications => "notifications",
            ChangeArea::Billing => "billing",
            ChangeArea::Sync => "sync",
            ChangeArea::Map => "map",
            ChangeArea::Users => "users",
            ChangeArea::Tokens => "tokens",
            ChangeArea::Storage => "storage",
            ChangeArea::BackupUsers => "backup_users",
            ChangeArea::SignIns => "sign_ins",
            ChangeArea::Other => "other",
        }
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            ChangeArea::Connection => "Autotask connection",
            ChangeArea::Tickets => "Ticket settings",
            ChangeArea::Notifications => "Notification rules",
            ChangeArea::Billing => "Billing",
            ChangeArea::Sync => "Sync",
            ChangeArea::Map => "Customer Map",
            ChangeArea::Users => "Users",
            ChangeArea::Tokens => "API tokens",
            ChangeArea::Storage => "Storage",
            ChangeArea::BackupUsers => "Backup users",
            ChangeArea::SignIns => "Sign-ins",
            ChangeArea::Other => "Other",
        }
    }
}

/// One settings change as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEntry {
    /// Its id (the cursor).
    pub change_id: i64,
    /// When.
    pub at: UnixMillis,
    /// Who ("alice@example.com", "api token NAME", "system").
    pub actor: String,
    /// Which part of the settings.
    pub area: ChangeArea,
    /// What was done, in words.
    pub summary: String,
    /// The customer it concerns, if one.
    pub customer_id: Option<i64>,
    /// Each setting with its value before and after (empty for entries recorded before
    /// values were kept, and for sign-ins).
    pub changes: Vec<SettingChange>,
}

/// Changes shown per page.
pub const CHANGES_PER_PAGE: i64 = 50;

/// A page of settings changes, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePage {
    /// The changes.
    pub rows: Vec<ChangeEntry>,
    /// The cursor of the next (older) page.
    pub older: Option<i64>,
    /// The cursor of the previous (newer) page.
    pub newer: Option<i64>,
    /// The customer filtered on, by name.
    pub customer_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_each_changed_field_and_reads_picked_values_by_label() {
        let before = json!({"queue": {"id": 5, "label": "Monitoring"}, "note_interval_minutes": 60, "do_not_map": false, "updated_by": "a@x"});
        let after = json!({"queue": {"id": 8, "label": "Alerts"}, "note_interval_minutes": 60, "do_not_map": true, "updated_by": "b@x"});
        let mut d = diff(&before, &after);
        // The order depends on serde_json's features in the build; the content does not.
        d.sort_by(|a, b| a.field.cmp(&b.field));
        assert_eq!(
            d,
            vec![
                SettingChange { field: "Do not map".into(), before: "no".into(), after: "yes".into() },
                SettingChange { field: "Queue".into(), before: "Monitoring".into(), after: "Alerts".into() },
            ]
        );
    }

    #[test]
    fn lists_of_objects_are_walked_and_creation_lists_every_field() {
        let before = json!({"mappings": [{"product": "server", "service_id": 3}, {"product": "ws", "service_id": null}]});
        let after = json!({"mappings": [{"product": "server", "service_id": 3}, {"product": "ws", "service_id": 9}]});
        assert_eq!(
            diff(&before, &after),
            vec![SettingChange { field: "Mappings \u{203a} 2 \u{203a} Service id".into(), before: NONE.into(), after: "9".into() }]
        );
        let made = created(&json!({"name": "Nightly", "customers": [1, 2], "scopes": []}));
        // A top-level object with a name is walked, not collapsed.
        assert_eq!(made.len(), 2, "{made:?}");
        assert!(made.contains(&SettingChange { field: "Customers".into(), before: NONE.into(), after: "1, 2".into() }), "{made:?}");
        assert!(deleted(&json!({"a": ""})).is_empty(), "an empty value removed is no change");
    }

    #[test]
    fn areas_read_back_and_actions_map_to_areas() {
        for a in ChangeArea::ALL {
            assert_eq!(ChangeArea::parse(a.as_str()), Some(a));
        }
        assert_eq!(ChangeArea::of_action("rules.create"), ChangeArea::Notifications);
        assert_eq!(ChangeArea::of_action("sync_settings"), ChangeArea::Sync);
        assert_eq!(ChangeArea::of_action("partner.create"), ChangeArea::Other);
    }
}
