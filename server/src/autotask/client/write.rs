//! Writing: creates (never retried: Autotask has no idempotency keys) and sparse
//! updates (safe to retry), each answering the record's id.

use super::AutotaskClient;
use crate::autotask::error::AutotaskError;
use reqwest::Method;
use serde_json::Value;

/// Removes nulls from a create body (Autotask answers 500 to explicit nulls on create).
fn strip_nulls(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect()),
        other => other.clone(),
    }
}

impl AutotaskClient {
    fn item_id(v: &Value) -> Result<i64, AutotaskError> {
        match v.get("itemId") {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| AutotaskError::Malformed("itemId is not an integer".into())),
            Some(Value::String(s)) => s.parse().map_err(|_| AutotaskError::Malformed(format!("itemId {s:?} is not an integer"))),
            _ => Err(AutotaskError::Malformed("answer without itemId".into())),
        }
    }

    /// Creates a root entity (`POST /{Entity}`); never retried (no idempotency in Autotask).
    pub async fn create(&self, entity: &str, body: &Value) -> Result<i64, AutotaskError> {
        let v = self.call(Method::POST, entity, entity, Some(&strip_nulls(body)), false).await?;
        Self::item_id(&v)
    }

    /// Creates a child (`POST /{Parent}/{id}/{Child}`), e.g. `Tickets/7/Notes`.
    pub async fn create_child(&self, parent: &str, parent_id: i64, child: &str, child_entity: &str, body: &Value) -> Result<i64, AutotaskError> {
        let v = self.call(Method::POST, child_entity, &format!("{parent}/{parent_id}/{child}"), Some(&strip_nulls(body)), false).await?;
        Self::item_id(&v)
    }

    /// Sparse update (`PATCH /{Entity}` with the id in the body); safe to retry.
    pub async fn patch(&self, entity: &str, body: &Value) -> Result<i64, AutotaskError> {
        let v = self.call(Method::PATCH, entity, entity, Some(body), true).await?;
        Self::item_id(&v)
    }

    /// Deletes a record (`DELETE /{path}`, e.g. `CompanyWebhooks/7`), where the entity
    /// allows it. Retried like an update: a repeat after a lost answer finds nothing to
    /// delete, which the caller may treat as done.
    pub async fn delete(&self, entity: &str, path: &str) -> Result<i64, AutotaskError> {
        let v = self.call(Method::DELETE, entity, path, None, true).await?;
        Self::item_id(&v)
    }

    /// Sparse update of a child (`PATCH /{Parent}/{id}/{Child}`).
    pub async fn patch_child(&self, parent: &str, parent_id: i64, child: &str, child_entity: &str, body: &Value) -> Result<i64, AutotaskError> {
        let v = self.call(Method::PATCH, child_entity, &format!("{parent}/{parent_id}/{child}"), Some(body), true).await?;
        Self::item_id(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_stripped_from_create_bodies() {
        assert_eq!(strip_nulls(&serde_json::json!({"a": 1, "b": null})), serde_json::json!({"a": 1}));
    }
}
