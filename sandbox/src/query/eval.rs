//! Evaluating a parsed query against stored records: comparisons by the field's data
//! type, UDF values, the lowest id a filter allows, and field projection.

use super::*;

/// Booleans as Autotask accepts them loosely: true/false, "true"/"false", 1/0.
pub(super) fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Null => None,
        other => Some(other.to_string().to_lowercase()),
    }
}

/// Compares a stored value with a query value by the field's type; None when either
/// side is null or not comparable.
pub(super) fn compare(data_type: &str, stored: &Value, wanted: &Value) -> Option<Ordering> {
    if stored.is_null() {
        return None;
    }
    match data_type {
        "integer" | "long" | "double" | "short" => number(stored)?.partial_cmp(&number(wanted)?),
        "boolean" => Some(truthy(stored)?.cmp(&truthy(wanted)?)),
        "datetime" => Some(parse_datetime(stored.as_str()?)?.cmp(&parse_datetime(wanted.as_str()?)?)),
        _ => Some(text(stored)?.cmp(&text(wanted)?)),
    }
}

pub(super) fn field_value<'a>(record: &'a Record, field: &str, udf: bool) -> &'a Value {
    static NULL: Value = Value::Null;
    if udf {
        record
            .get("userDefinedFields")
            .and_then(Value::as_array)
            .and_then(|list| list.iter().find(|u| u.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(field))))
            .and_then(|u| u.get("value"))
            .unwrap_or(&NULL)
    } else {
        record.get(field).unwrap_or(&NULL)
    }
}

/// Whether a record passes one filter.
pub fn matches(filter: &Filter, record: &Record) -> bool {
    match filter {
        Filter::Group { all: true, items } => items.iter().all(|f| matches(f, record)),
        Filter::Group { all: false, items } => items.iter().any(|f| matches(f, record)),
        Filter::Cond { op, field, udf, data_type, value, members } => {
            let stored = field_value(record, field, *udf);
            let present = !stored.is_null() && stored.as_str() != Some("");
            let cmp = || compare(data_type, stored, value);
            let s = || text(stored).unwrap_or_default();
            let w = || text(value).unwrap_or_default();
            match op {
                Op::Exist => present,
                Op::NotExist => !present,
                Op::Eq => cmp() == Some(Ordering::Equal),
                Op::NotEq => cmp() != Some(Ordering::Equal),
                Op::Gt => cmp() == Some(Ordering::Greater),
                Op::Gte => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
                Op::Lt => cmp() == Some(Ordering::Less),
                Op::Lte => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
                Op::BeginsWith => present && s().starts_with(&w()),
                Op::EndsWith => present && s().ends_with(&w()),
                Op::Contains => present && s().contains(&w()),
                Op::In => members.as_ref().is_some_and(|m| m.contains(data_type, stored)),
                Op::NotIn => members.as_ref().is_some_and(|m| !m.contains(data_type, stored)),
            }
        }
    }
}

/// The smallest id a record can have to match the top-level filters (from `id` gt/gte/eq
/// conditions), so id-walk paging scans from there instead of the start.
pub fn min_id(filters: &[Filter]) -> i64 {
    let mut min = i64::MIN;
    for f in filters {
        if let Filter::Cond { op, field, udf: false, value, .. } = f {
            if field == "id" {
                if let Some(n) = number(value) {
                    let n = n.floor() as i64;
                    match op {
                        Op::Gt => min = min.max(n + 1),
                        Op::Gte | Op::Eq => min = min.max(n),
                        _ => {}
                    }
                }
            }
        }
    }
    min
}

/// Applies IncludeFields: only the listed fields (UDFs listed by name stay in their array).
pub fn project(record: &Record, include: &Option<Vec<String>>) -> Value {
    let Some(names) = include else {
        return Value::Object(record.clone());
    };
    let mut out = Map::new();
    let mut udfs = Vec::new();
    for name in names {
        if let Some(v) = record.get(name) {
            out.insert(name.clone(), v.clone());
        } else if let Some(list) = record.get("userDefinedFields").and_then(Value::as_array) {
            if let Some(u) = list.iter().find(|u| u.get("name").and_then(Value::as_str) == Some(name.as_str())) {
                udfs.push(u.clone());
            }
        }
    }
    if record.contains_key("userDefinedFields") {
        out.insert("userDefinedFields".into(), Value::Array(udfs));
    }
    Value::Object(out)
}
