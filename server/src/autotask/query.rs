//! A builder for Autotask's filter language: the 13 operators, nested and/or groups,
//! UDF conditions, IncludeFields and MaxRecords.

use serde_json::{json, Value};

/// One filter node.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Value);

impl Filter {
    fn cond(op: &str, field: &str, value: Value) -> Self {
        Self(json!({"op": op, "field": field, "value": value}))
    }
    /// `field = value`.
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self::cond("eq", field, value.into())
    }
    /// `field <> value`.
    pub fn not_eq(field: &str, value: impl Into<Value>) -> Self {
        Self::cond("noteq", field, value.into())
    }
    /// `field > value`.
    pub fn gt(field: &str, value: impl Into<Value>) -> Self {
        Self::cond("gt", field, value.into())
    }
    /// `field >= value`.
    pub fn gte(field: &str, value: impl Into<Value>) -> Self {
        Self::cond("gte", field, value.into())
    }
    /// `field < value`.
    pub fn lt(field: &str, value: impl Into<Value>) -> Self {
        Self::cond("lt", field, value.into())
    }
    /// `field <= value`.
    pub fn lte(field: &str, value: impl Into<Value>) -> Self {
        Self::cond("lte", field, value.into())
    }
    /// Starts with (case-insensitive).
    pub fn begins_with(field: &str, value: &str) -> Self {
        Self::cond("beginsWith", field, value.into())
    }
    /// Ends with.
    pub fn ends_with(field: &str, value: &str) -> Self {
        Self::cond("endsWith", field, value.into())
    }
    /// Contains.
    pub fn contains(field: &str, value: &str) -> Self {
        Self::cond("contains", field, value.into())
    }
    /// Has a value.
    pub fn exist(field: &str) -> Self {
        Self(json!({"op": "exist", "field": field}))
    }
    /// Has no value.
    pub fn not_exist(field: &str) -> Self {
        Self(json!({"op": "notExist", "field": field}))
    }
    /// In a list (at most 500 values per query: see [`in_batches`]).
    pub fn is_in<V: Into<Value>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Self::cond("in", field, Value::Array(values.into_iter().map(Into::into).collect()))
    }
    /// Not in a list.
    pub fn not_in<V: Into<Value>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Self::cond("notIn", field, Value::Array(values.into_iter().map(Into::into).collect()))
    }
    /// All of the items.
    pub fn and(items: impl IntoIterator<Item = Filter>) -> Self {
        Self(json!({"op": "and", "items": items.into_iter().map(|f| f.0).collect::<Vec<_>>()}))
    }
    /// Any of the items.
    pub fn or(items: impl IntoIterator<Item = Filter>) -> Self {
        Self(json!({"op": "or", "items": items.into_iter().map(|f| f.0).collect::<Vec<_>>()}))
    }
    /// Marks a condition as being on a user-defined field.
    pub fn udf(mut self) -> Self {
        self.0["udf"] = Value::Bool(true);
        self
    }
    /// Every record (Autotask requires a filter).
    pub fn all() -> Self {
        Self::gte("id", 0)
    }
    /// The JSON form.
    pub fn to_json(&self) -> Value {
        self.0.clone()
    }
}

/// Autotask's limit of OR conditions (and `in` values) per query.
pub const MAX_IN_VALUES: usize = 500;
/// Autotask's page size limit.
pub const MAX_RECORDS: usize = 500;

/// A query body.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Top-level filters (ANDed).
    pub filters: Vec<Filter>,
    /// Only these fields come back.
    pub include_fields: Vec<String>,
    /// Page size (1–500).
    pub max_records: usize,
}

impl Query {
    /// A query with these filters, full pages, all fields.
    pub fn new(filters: impl IntoIterator<Item = Filter>) -> Self {
        Self { filters: filters.into_iter().collect(), include_fields: Vec::new(), max_records: MAX_RECORDS }
    }
    /// Restricts the fields returned (`id` is added: paging needs it).
    pub fn include(mut self, fields: &[&str]) -> Self {
        self.include_fields = fields.iter().map(|f| f.to_string()).collect();
        if !self.include_fields.iter().any(|f| f.eq_ignore_ascii_case("id")) {
            self.include_fields.insert(0, "id".into());
        }
        self
    }
    /// Page size, clamped to Autotask's 1–500.
    pub fn max_records(mut self, n: usize) -> Self {
        self.max_records = n.clamp(1, MAX_RECORDS);
        self
    }
    /// Adds a filter.
    pub fn and(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }
    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let filters = if self.filters.is_empty() { vec![Filter::all()] } else { self.filters.clone() };
        let mut body = json!({"filter": filters.iter().map(Filter::to_json).collect::<Vec<_>>(), "MaxRecords": self.max_records});
        if !self.include_fields.is_empty() {
            body["IncludeFields"] = json!(self.include_fields);
        }
        body
    }
}

/// Splits a long `in` list into filters of at most 500 values each.
pub fn in_batches<V: Into<Value> + Clone>(field: &str, values: &[V]) -> Vec<Filter> {
    values.chunks(MAX_IN_VALUES).map(|chunk| Filter::is_in(field, chunk.iter().cloned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_serialise_to_autotask_json() {
        let q = Query::new([
            Filter::eq("companyType", 1),
            Filter::or([Filter::contains("companyName", "&"), Filter::eq("Customer Ranking", "Gold").udf()]),
        ])
        .include(&["companyName"])
        .max_records(900);
        assert_eq!(
            q.to_json(),
            json!({"filter": [
                {"op": "eq", "field": "companyType", "value": 1},
                {"op": "or", "items": [{"op": "contains", "field": "companyName", "value": "&"}, {"op": "eq", "field": "Customer Ranking", "value": "Gold", "udf": true}]}
            ], "MaxRecords": 500, "IncludeFields": ["id", "companyName"]})
        );
        assert_eq!(Query::new([]).to_json()["filter"][0], json!({"op": "gte", "field": "id", "value": 0}));
        assert_eq!(Filter::exist("email").to_json(), json!({"op": "exist", "field": "email"}));
    }

    #[test]
    fn long_in_lists_are_batched_at_500() {
        let ids: Vec<i64> = (0..1_234).collect();
        let batches = in_batches("id", &ids);
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[2].to_json()["value"].as_array().map(Vec::len), Some(234));
    }
}
