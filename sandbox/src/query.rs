//! The Autotask query language: `{"filter":[...], "IncludeFields":[...], "MaxRecords":N}`
//! with the 13 operators, nested `and`/`or` groups, case-insensitive field and key names,
//! UDF conditions, and Autotask's limits and error messages.

mod eval;

use crate::error::ApiError;
use crate::store::{parse_datetime, Record};
use crate::surface::surface;
use eval::{compare, number, text, truthy};
pub use eval::{matches, min_id, project};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Comparison operators (spelled exactly as Autotask spells them; case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    BeginsWith,
    EndsWith,
    Contains,
    Exist,
    NotExist,
    In,
    NotIn,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "eq" => Op::Eq,
            "noteq" => Op::NotEq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "beginsWith" => Op::BeginsWith,
            "endsWith" => Op::EndsWith,
            "contains" => Op::Contains,
            "exist" => Op::Exist,
            "notExist" => Op::NotExist,
            "in" => Op::In,
            "notIn" => Op::NotIn,
            _ => return None,
        })
    }
}

/// One filter node.
#[derive(Debug, Clone)]
pub enum Filter {
    /// A condition on a field or UDF.
    Cond {
        /// Operator.
        op: Op,
        /// Canonical field name (or the UDF's name when `udf`).
        field: String,
        /// Whether `field` is a user-defined field.
        udf: bool,
        /// The model data type ("integer", "datetime"...), "string" for UDFs.
        data_type: &'static str,
        /// The value (an array for in/notIn; null for exist/notExist).
        value: Value,
        /// For in/notIn: the list, normalised once for lookups.
        members: Option<Members>,
    },
    /// `and` (all) or `or` (any) of the items.
    Group {
        /// True for `and`.
        all: bool,
        /// The members.
        items: Vec<Filter>,
    },
}

/// An `in`/`notIn` list normalised once when the query is parsed, so that testing a
/// record is one lookup instead of a comparison (parsing both sides) per member: a
/// 500-member list over 20,000 rows made each page cost seconds of CPU, which no real
/// Autotask spends. Membership means exactly what [`compare`] calls equal.
#[derive(Debug, Clone)]
pub enum Members {
    /// Numeric fields: the members that are numbers, sorted (others never equal).
    Numbers(Vec<f64>),
    /// Text fields and UDFs: the members lowercased.
    Texts(std::collections::HashSet<String>),
    /// Booleans and dates: compared member by member (lists of these are rare).
    Each(Vec<Value>),
}

impl Members {
    fn new(data_type: &str, list: &[Value]) -> Self {
        match data_type {
            "integer" | "long" | "double" | "short" => {
                // `+ 0.0` folds -0 into 0, so total order agrees with numeric equality.
                let mut numbers: Vec<f64> = list.iter().filter_map(number).filter(|n| !n.is_nan()).map(|n| n + 0.0).collect();
                numbers.sort_by(f64::total_cmp);
                numbers.dedup();
                Members::Numbers(numbers)
            }
            "boolean" | "datetime" => Members::Each(list.to_vec()),
            _ => Members::Texts(list.iter().filter_map(text).collect()),
        }
    }

    fn contains(&self, data_type: &str, stored: &Value) -> bool {
        if stored.is_null() {
            return false;
        }
        match self {
            Members::Numbers(numbers) => {
                number(stored).filter(|n| !n.is_nan()).is_some_and(|n| numbers.binary_search_by(|m| m.total_cmp(&(n + 0.0))).is_ok())
            }
            Members::Texts(texts) => text(stored).is_some_and(|t| texts.contains(&t)),
            Members::Each(list) => list.iter().any(|v| compare(data_type, stored, v) == Some(Ordering::Equal)),
        }
    }
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    /// Top-level filters (ANDed).
    pub filter: Vec<Filter>,
    /// Projection, canonical names.
    pub include_fields: Option<Vec<String>>,
    /// Page size, 1–500.
    pub max_records: usize,
}

/// Autotask's limit on OR conditions (including `in` list members).
pub const MAX_OR_CONDITIONS: usize = 500;

fn key<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn singular(entity: &str) -> &str {
    crate::surface::ENTITIES.iter().find(|(e, _)| *e == entity).map(|(_, s)| *s).unwrap_or(entity)
}

/// Parses a QueryModel body for `entity`.
pub fn parse(entity: &str, body: &Value) -> Result<Query, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::server("The query is not a JSON object."));
    };
    let raw_filter = key(object, "filter").cloned().unwrap_or(Value::Null);
    let items = match raw_filter {
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(ApiError::server("A filter is required. To return all records, use {\"op\":\"gte\",\"field\":\"id\",\"value\":0}.")),
    };
    let mut udf_fields = Vec::new();
    let filter = items.iter().map(|f| parse_filter(entity, f, &mut udf_fields)).collect::<Result<Vec<_>, _>>()?;
    udf_fields.sort();
    udf_fields.dedup();
    if udf_fields.len() > 1 {
        return Err(ApiError::server("Only one user-defined field can be queried at a time."));
    }
    let ors = filter.iter().map(|f| or_conditions(f, false)).sum::<usize>();
    if ors > MAX_OR_CONDITIONS {
        return Err(ApiError::server("Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."));
    }
    let max_records = match key(object, "MaxRecords") {
        None | Some(Value::Null) => 500,
        Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
            Some(n) if (1..=500).contains(&n) => n as usize,
            _ => return Err(ApiError::server("maxCountOfRecordsToReturn must be between 1 and 500")),
        },
    };
    let include_fields = match key(object, "IncludeFields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(names)) if names.is_empty() => None,
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|n| {
                    let name = n.as_str().unwrap_or_default();
                    if let Some(f) = surface().field(entity, name) {
                        Ok(f.name.clone())
                    } else if let Some((udf, _)) = crate::schema::udfs(entity).iter().find(|(u, _)| u.eq_ignore_ascii_case(name)) {
                        Ok((*udf).to_string())
                    } else {
                        Err(ApiError::server(format!("Unable to find {name} in the {} Entity.", singular(entity))))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(ApiError::server("IncludeFields must be an array of field names.")),
    };
    Ok(Query { filter, include_fields, max_records })
}

fn parse_filter(entity: &str, raw: &Value, udf_fields: &mut Vec<String>) -> Result<Filter, ApiError> {
    let Some(object) = raw.as_object() else {
        return Err(ApiError::server("Each filter must be an object with op, field and value."));
    };
    let op_text = key(object, "op").and_then(Value::as_str).unwrap_or_default();
    if op_text == "and" || op_text == "or" {
        let items = key(object, "items").and_then(Value::as_array).cloned().unwrap_or_default();
        if items.is_empty() {
            return Err(ApiError::server(format!("The '{op_text}' grouping requires at least one item.")));
        }
        let items = items.iter().map(|f| parse_filter(entity, f, udf_fields)).collect::<Result<Vec<_>, _>>()?;
        return Ok(Filter::Group { all: op_text == "and", items });
    }
    let Some(op) = Op::parse(op_text) else {
        return Err(ApiError::server(format!("Invalid query syntax. Unknown operator '{op_text}'.")));
    };
    let field_name = key(object, "field").and_then(Value::as_str).unwrap_or_default();
    let udf = key(object, "udf").is_some_and(|v| truthy(v) == Some(true));
    let (field, data_type) = if udf {
        match crate::schema::udfs(entity).iter().find(|(u, _)| u.eq_ignore_ascii_case(field_name)) {
            Some((name, _)) => {
                udf_fields.push((*name).to_string());
                ((*name).to_string(), "string")
            }
            None => return Err(ApiError::server(format!("Unable to find user-defined field {field_name} in the {} Entity.", singular(entity)))),
        }
    } else {
        match surface().field(entity, field_name) {
            Some(f) if f.name != "userDefinedFields" => {
                if !crate::schema::queryable(entity, &f.name) {
                    return Err(ApiError::server(format!("The field {} is not queryable.", f.name)));
                }
                (f.name.clone(), f.data_type())
            }
            _ => return Err(ApiError::server(format!("Unable to find {field_name} in the {} Entity.", singular(entity)))),
        }
    };
    let value = key(object, "value").cloned().unwrap_or(Value::Null);
    match op {
        Op::In | Op::NotIn if !value.is_array() => {
            return Err(ApiError::server(format!("The '{op_text}' operator requires an array value.")));
        }
        Op::Exist | Op::NotExist => {}
        _ if value.is_null() => return Err(ApiError::server(format!("The '{op_text}' operator requires a value for {field}."))),
        _ => {}
    }
    let members = matches!(op, Op::In | Op::NotIn).then(|| Members::new(data_type, value.as_array().map_or(&[], Vec::as_slice)));
    Ok(Filter::Cond { op, field, udf, data_type, value, members })
}

/// OR conditions in a filter: members of `or` groups and of `in`/`notIn` lists.
fn or_conditions(filter: &Filter, inside_or: bool) -> usize {
    match filter {
        Filter::Group { all, items } => {
            let nested: usize = items.iter().map(|f| or_conditions(f, !all)).sum();
            if *all {
                nested
            } else {
                nested.max(items.len())
            }
        }
        Filter::Cond { op: Op::In | Op::NotIn, value, .. } => value.as_array().map_or(0, Vec::len),
        Filter::Cond { .. } => usize::from(inside_or),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn company(id: i64, name: &str, active: bool, kind: i64) -> Record {
        let mut r = Record::new();
        r.insert("id".into(), id.into());
        r.insert("companyName".into(), name.into());
        r.insert("isActive".into(), active.into());
        r.insert("companyType".into(), kind.into());
        crate::store::complete("Companies", r)
    }

    fn run(body: Value, records: &[Record]) -> Vec<i64> {
        let q = parse("Companies", &body).unwrap();
        records.iter().filter(|r| q.filter.iter().all(|f| matches(f, r))).map(|r| r["id"].as_i64().unwrap()).collect()
    }

    #[test]
    fn every_operator_filters_as_documented() {
        let rs = vec![company(1, "Smith & Jones", true, 1), company(2, "Café Müller GmbH", false, 3), company(3, "O'Brien IT, Inc.", true, 7)];
        let q = |op: &str, field: &str, value: Value| run(json!({"filter": [{"op": op, "field": field, "value": value}]}), &rs);
        assert_eq!(q("eq", "companyname", json!("smith & jones")), vec![1]);
        assert_eq!(q("noteq", "CompanyType", json!(1)), vec![2, 3]);
        assert_eq!(q("gt", "id", json!(1)), vec![2, 3]);
        assert_eq!(q("gte", "id", json!(2)), vec![2, 3]);
        assert_eq!(q("lt", "id", json!(2)), vec![1]);
        assert_eq!(q("lte", "id", json!("2")), vec![1, 2]);
        assert_eq!(q("beginsWith", "companyName", json!("CAFÉ")), vec![2]);
        assert_eq!(q("endsWith", "companyName", json!("inc.")), vec![3]);
        assert_eq!(q("contains", "companyName", json!("'brien")), vec![3]);
        assert_eq!(q("in", "companyType", json!([1, 7])), vec![1, 3]);
        assert_eq!(q("notIn", "companyType", json!(["1", "7"])), vec![2]);
        assert_eq!(q("exist", "companyName", Value::Null), vec![1, 2, 3]);
        assert_eq!(q("notExist", "address1", Value::Null), vec![1, 2, 3]);
        // Booleans are coerced loosely.
        assert_eq!(q("eq", "isActive", json!("true")), vec![1, 3]);
        assert_eq!(q("eq", "isActive", json!(0)), vec![2]);
    }

    #[test]
    fn nested_groups_combine_with_and_or() {
        let rs = vec![company(1, "A", true, 1), company(2, "B", true, 3), company(3, "C", false, 1)];
        let body = json!({"filter": [
            {"op": "eq", "field": "isActive", "value": true},
            {"op": "or", "items": [
                {"op": "eq", "field": "companyName", "value": "B"},
                {"op": "and", "items": [{"op": "eq", "field": "companyType", "value": 1}, {"op": "eq", "field": "id", "value": 1}]}
            ]}
        ]});
        assert_eq!(run(body, &rs), vec![1, 2]);
    }

    #[test]
    fn limits_and_mistakes_give_autotask_errors() {
        let err = |body: Value| parse("Companies", &body).unwrap_err().errors[0].clone();
        let big: Vec<i64> = (0..501).collect();
        assert_eq!(
            err(json!({"filter": [{"op": "in", "field": "id", "value": big}]})),
            "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
        );
        assert_eq!(
            err(json!({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 501})),
            "maxCountOfRecordsToReturn must be between 1 and 500"
        );
        assert_eq!(err(json!({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 0})), "maxCountOfRecordsToReturn must be between 1 and 500");
        assert_eq!(err(json!({"filter": [{"op": "exist", "field": "nope"}]})), "Unable to find nope in the Company Entity.");
        assert_eq!(
            err(json!({"filter": [{"op": "exist", "field": "id"}], "IncludeFields": ["firstName"]})),
            "Unable to find firstName in the Company Entity."
        );
        assert!(err(json!({"filter": []})).starts_with("A filter is required"));
        assert!(err(json!({"filter": [{"op": "startsWith", "field": "companyName", "value": "a"}]})).contains("Unknown operator"));
        let ok: Vec<i64> = (0..500).collect();
        assert!(parse("Companies", &json!({"filter": [{"op": "in", "field": "id", "value": ok}]})).is_ok());
    }

    #[test]
    fn in_lists_match_exactly_what_eq_matches() {
        let mut rs = vec![company(1, "Smith & Jones", true, 1), company(2, "Café Müller GmbH", false, 3), company(3, "O'Brien IT, Inc.", true, 7)];
        rs[2].insert("lastActivityDate".into(), json!("2026-03-01T10:00:00Z"));
        let q = |op: &str, field: &str, value: Value| run(json!({"filter": [{"op": op, "field": field, "value": value}]}), &rs);
        // Numbers by value, whatever their spelling; members that are no numbers never match.
        assert_eq!(q("in", "companyType", json!(["7", 1.0, "x", null])), vec![1, 3]);
        assert_eq!(q("in", "id", json!([-0.0, 2])), vec![2]);
        // Text without regard to case; a null field is in no list and outside every one.
        assert_eq!(q("in", "companyName", json!(["SMITH & JONES", "café müller gmbh"])), vec![1, 2]);
        assert_eq!(q("in", "address1", json!(["", "x"])), Vec::<i64>::new());
        assert_eq!(q("notIn", "address1", json!(["x"])), vec![1, 2, 3]);
        // Booleans and dates as eq compares them.
        assert_eq!(q("in", "isActive", json!(["false"])), vec![2]);
        assert_eq!(q("in", "lastActivityDate", json!(["2026-03-01T10:00:00.000Z"])), vec![3]);
        assert_eq!(q("notIn", "companyType", json!([])), vec![1, 2, 3]);
    }

    #[test]
    fn udf_conditions_read_the_udf_list() {
        let mut r = company(1, "A", true, 1);
        r["userDefinedFields"] = json!([{"name": "Backup Customer ID", "value": null}, {"name": "Customer Ranking", "value": "Golden"}, {"name": "Data Region", "value": null}]);
        let rs = vec![r, company(2, "B", true, 1)];
        assert_eq!(run(json!({"filter": [{"op": "eq", "field": "customer ranking", "udf": true, "value": "Golden"}]}), &rs), vec![1]);
        assert_eq!(run(json!({"filter": [{"op": "exist", "field": "Customer Ranking", "udf": true}]}), &rs), vec![1]);
        let two = parse(
            "Companies",
            &json!({"filter": [{"op": "exist", "field": "Customer Ranking", "udf": true}, {"op": "exist", "field": "Data Region", "udf": true}]}),
        );
        assert!(two.is_err());
    }

    #[test]
    fn include_fields_keep_only_what_was_asked() {
        let q = parse("Companies", &json!({"filter": [{"op": "exist", "field": "id"}], "includeFields": ["ID", "companyname"]})).unwrap();
        let v = project(&company(1, "A", true, 1), &q.include_fields);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["id", "companyName", "userDefinedFields"]);
    }
}
