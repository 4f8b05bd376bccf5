//! The tenant's data: one table of JSON records per entity, ordered by id, optionally
//! saved to a file so state survives a restart.

use crate::surface::surface;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One record, camelCase keys in model order.
pub type Record = Map<String, Value>;

/// One entity's rows.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Table {
    /// Rows by id (ascending: queries return them in this order).
    pub rows: BTreeMap<i64, Record>,
    /// The next id to hand out.
    pub next_id: i64,
}

/// Everything in the sandbox tenant.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// Entity → table.
    pub tables: HashMap<String, Table>,
    /// Per-day counters for ticket numbers (`T20261122.0001`).
    pub ticket_numbers: HashMap<String, i64>,
    /// Foreign-key lookups, (entity, field) → parent id → child ids ascending: built on
    /// first use, kept by [`Tenant::insert`], dropped for an entity whose rows are
    /// replaced or removed. Without them every contract service adjustment scanned all
    /// contract services and units, which made the sandbox, not the client, the cost of
    /// a large billing push. Not saved.
    #[serde(skip)]
    index: HashMap<(String, String), HashMap<i64, Vec<i64>>>,
}

impl Tenant {
    /// The table of an entity (created empty on first use).
    pub fn table(&mut self, entity: &str) -> &mut Table {
        self.tables.entry(entity.to_string()).or_insert_with(|| Table { rows: BTreeMap::new(), next_id: 1 })
    }

    /// Read-only access to a table.
    pub fn rows(&self, entity: &str) -> Option<&BTreeMap<i64, Record>> {
        self.tables.get(entity).map(|t| &t.rows)
    }

    /// One record.
    pub fn get(&self, entity: &str, id: i64) -> Option<&Record> {
        self.tables.get(entity).and_then(|t| t.rows.get(&id))
    }

    /// Inserts a record with the next id (or the one it carries), filling every model field.
    pub fn insert(&mut self, entity: &str, mut values: Record) -> i64 {
        let table = self.table(entity);
        let id = match values.get("id").and_then(Value::as_i64) {
            Some(id) => id,
            None => table.next_id,
        };
        table.next_id = table.next_id.max(id + 1);
        values.insert("id".into(), Value::from(id));
        let record = complete(entity, values);
        for ((_, field), children) in self.index.iter_mut().filter(|((e, _), _)| e == entity) {
            if let Some(parent) = record.get(field).and_then(Value::as_i64) {
                let ids = children.entry(parent).or_default();
                if let Err(at) = ids.binary_search(&id) {
                    ids.insert(at, id);
                }
            }
        }
        if self.table(entity).rows.insert(id, record).is_some() {
            // An id given twice replaced a row: its old parent may be stale.
            self.forget_index(entity);
        }
        id
    }

    /// Replaces a row (an update).
    pub fn replace(&mut self, entity: &str, id: i64, record: Record) {
        self.table(entity).rows.insert(id, record);
        self.forget_index(entity);
    }

    /// Removes a row.
    pub fn remove(&mut self, entity: &str, id: i64) {
        self.table(entity).rows.remove(&id);
        self.forget_index(entity);
    }

    /// The ids of `entity`'s rows whose `field` is `parent`, ascending.
    pub fn children(&mut self, entity: &str, field: &str, parent: i64) -> Vec<i64> {
        let key = (entity.to_string(), field.to_string());
        let tables = &self.tables;
        let index = self.index.entry(key).or_insert_with(|| {
            let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
            for (id, row) in tables.get(entity).map(|t| &t.rows).into_iter().flatten() {
                if let Some(p) = row.get(field).and_then(Value::as_i64) {
                    map.entry(p).or_default().push(*id);
                }
            }
            map
        });
        index.get(&parent).cloned().unwrap_or_default()
    }

    fn forget_index(&mut self, entity: &str) {
        self.index.retain(|(e, _), _| e != entity);
    }

    /// Loads a saved tenant.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read(path)?;
        Ok(serde_json::from_slice(&text)?)
    }

    /// Saves the tenant (write to a temporary file, then rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// A record with every model field present (null when empty), in model order, plus the
/// complete UDF list for entities that have UDFs.
pub fn complete(entity: &str, mut values: Record) -> Record {
    let mut out = Map::new();
    for field in surface().fields(entity) {
        if field.name == "userDefinedFields" {
            continue;
        }
        out.insert(field.name.clone(), values.remove(&field.name).unwrap_or(Value::Null));
    }
    let udf_defs = crate::schema::udfs(entity);
    if surface().fields(entity).iter().any(|f| f.name == "userDefinedFields") {
        let given = values.remove("userDefinedFields");
        let mut list = Vec::new();
        for (name, _) in udf_defs {
            let value = given
                .as_ref()
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find(|u| u.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name))))
                .and_then(|u| u.get("value").cloned())
                .unwrap_or(Value::Null);
            list.push(serde_json::json!({"name": name, "value": value}));
        }
        out.insert("userDefinedFields".into(), Value::Array(list));
    }
    out
}

/// Autotask's date-time format: UTC, `Z`, milliseconds with trailing zeros trimmed.
pub fn format_datetime(t: chrono::DateTime<chrono::Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let millis = t.timestamp_subsec_millis();
    if millis == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{millis:03}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// Parses the date-time forms Autotask accepts: with `Z`, with an offset, or without a
/// zone (taken as UTC), with or without fractional seconds, or a bare date.
pub fn parse_datetime(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_trim_trailing_millisecond_zeros() {
        let t = parse_datetime("2022-12-07T09:15:45.200Z").unwrap();
        assert_eq!(format_datetime(t), "2022-12-07T09:15:45.2Z");
        assert_eq!(format_datetime(parse_datetime("2022-12-06T13:00:00").unwrap()), "2022-12-06T13:00:00Z");
        assert_eq!(format_datetime(parse_datetime("2022-12-06T15:00:00+02:00").unwrap()), "2022-12-06T13:00:00Z");
        assert_eq!(format_datetime(parse_datetime("2030-03-21").unwrap()), "2030-03-21T00:00:00Z");
    }

    #[test]
    fn records_carry_every_model_field_and_all_udfs() {
        let mut values = Record::new();
        values.insert("companyName".into(), "Acme".into());
        values.insert("userDefinedFields".into(), serde_json::json!([{"name": "customer ranking", "value": "Gold"}]));
        let record = complete("Companies", values);
        assert_eq!(record["companyName"], "Acme");
        assert!(record.contains_key("lastTrackedModifiedDateTime"));
        assert_eq!(record["address1"], Value::Null);
        let udfs = record["userDefinedFields"].as_array().unwrap();
        assert_eq!(udfs.len(), 3);
        assert!(udfs.iter().any(|u| u["name"] == "Customer Ranking" && u["value"] == "Gold"));
    }

    #[test]
    fn children_follow_inserts_updates_and_deletes() {
        let service = |contract: i64| {
            let mut r = Record::new();
            r.insert("contractID".into(), contract.into());
            r
        };
        let mut t = Tenant::default();
        let a = t.insert("ContractServices", service(7));
        assert_eq!(t.children("ContractServices", "contractID", 7), vec![a], "built on first use");
        let b = t.insert("ContractServices", service(7));
        let c = t.insert("ContractServices", service(8));
        assert_eq!(t.children("ContractServices", "contractID", 7), vec![a, b], "kept by insert");
        let mut moved = t.get("ContractServices", b).cloned().unwrap();
        moved.insert("contractID".into(), 8.into());
        t.replace("ContractServices", b, moved);
        assert_eq!(t.children("ContractServices", "contractID", 8), vec![b, c], "rebuilt after an update");
        t.remove("ContractServices", c);
        assert_eq!(t.children("ContractServices", "contractID", 8), vec![b], "rebuilt after a delete");
        assert_eq!(t.children("ContractServices", "contractID", 9), Vec::<i64>::new());
    }
}
