//! OpenAPI schemas from the request and response types (`utoipa::ToSchema`), composed
//! into the shapes the routes take: one item or a batch, with examples.

use serde_json::{json, Value};
use utoipa::PartialSchema;

/// The JSON Schema of a type, inline.
pub fn of<T: PartialSchema>() -> Value {
    serde_json::to_value(T::schema()).unwrap_or(Value::Null)
}

/// The JSON Schema of a type with some properties restricted to a list of values
/// (lists known at run time, e.g. the event types).
pub fn with_enums<T: PartialSchema>(enums: &[(&str, Vec<&str>)]) -> Value {
    let mut schema = of::<T>();
    for (property, values) in enums {
        if let Some(p) = schema.get_mut("properties").and_then(|p| p.get_mut(*property)) {
            p["enum"] = json!(values);
        }
    }
    schema
}

/// One item, or `{key: [items]}` of at most `max`, with examples.
pub fn one_or_batch(item: Value, key: &str, max: usize, examples: Value) -> Value {
    json!({
        "oneOf": [item.clone(), {"type": "object", "required": [key], "properties": {key: {"type": "array", "maxItems": max, "items": item}}}],
        "examples": examples,
    })
}
