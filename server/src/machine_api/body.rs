//! Request bodies of the machine API: one item or a batch under the route's key
//! (`{"events": [...]}`), checked for size, with the error that says what to send.

use super::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What a route takes in a body.
pub trait Item: DeserializeOwned + Send {
    /// The batch key (`events`, `usage`, `customers`).
    const KEY: &'static str;
    /// One item, in words (`event`, `usage report`).
    const WHAT: &'static str;
    /// Whether one item may be sent without the batch around it.
    const ALONE: bool = true;
}

/// Most items per call.
pub const MAX_BATCH: usize = 1_000;

/// The items of a call, and whether one was sent alone (it then answers 422 when invalid).
#[derive(Debug)]
pub struct OneOrBatch<T> {
    /// The items, in the order sent.
    pub items: Vec<T>,
    /// Sent as one object, not a batch.
    pub single: bool,
}

impl<T: Item> OneOrBatch<T> {
    fn shape() -> String {
        if T::ALONE {
            format!("Send one {} object or {{\"{}\": [...]}}", T::WHAT, T::KEY)
        } else {
            format!("Send {{\"{}\": [...]}}", T::KEY)
        }
    }

    /// Reads the items from a JSON value.
    pub fn from_value(body: Value) -> Result<Self, ApiError> {
        let bad = |why: String| ApiError::BadBody(format!("{}: {why}", Self::shape()));
        let (items, single) = match body {
            Value::Object(mut map) if map.contains_key(T::KEY) => {
                let list = map.remove(T::KEY).unwrap_or_default();
                let items: Vec<T> = serde_json::from_value(list).map_err(|e| bad(e.to_string()))?;
                (items, false)
            }
            one @ Value::Object(_) if T::ALONE => (vec![serde_json::from_value(one).map_err(|e| bad(e.to_string()))?], true),
            _ => return Err(bad("the body is not of this shape".into())),
        };
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(ApiError::BadBody(format!("Send between 1 and {MAX_BATCH} {}s per call.", T::WHAT)));
        }
        Ok(Self { items, single })
    }

    /// Where an item's field is named in errors: `events[3].` in a batch, nothing alone.
    pub fn prefix(&self, index: usize) -> String {
        if self.single {
            String::new()
        } else {
            format!("{}[{index}].", T::KEY)
        }
    }
}

impl<S: Send + Sync, T: Item> FromRequest<S> for OneOrBatch<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(body) =
            Json::<Value>::from_request(req, state).await.map_err(|e| ApiError::BadBody(format!("{}: {}", Self::shape(), e.body_text())))?;
        Self::from_value(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Thing {
        n: i64,
    }

    impl Item for Thing {
        const KEY: &'static str = "things";
        const WHAT: &'static str = "thing";
    }

    #[derive(Debug, serde::Deserialize)]
    struct Listed {}

    impl Item for Listed {
        const KEY: &'static str = "listed";
        const WHAT: &'static str = "listed item";
        const ALONE: bool = false;
    }

    #[test]
    fn one_item_or_a_batch() {
        let one = OneOrBatch::<Thing>::from_value(json!({"n": 1})).unwrap();
        assert!(one.single);
        assert_eq!((one.prefix(0), one.items), (String::new(), vec![Thing { n: 1 }]));
        let batch = OneOrBatch::<Thing>::from_value(json!({"things": [{"n": 1}, {"n": 2}]})).unwrap();
        assert!(!batch.single);
        assert_eq!((batch.items.len(), batch.prefix(1)), (2, "things[1].".to_string()));
    }

    #[test]
    fn the_wrong_shape_or_size_says_what_to_send() {
        let message = |e: ApiError| match e {
            ApiError::BadBody(m) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            message(OneOrBatch::<Thing>::from_value(json!({"things": "x"})).unwrap_err()).starts_with("Send one thing object or {\"things\": [...]}")
        );
        assert!(message(OneOrBatch::<Thing>::from_value(json!([1])).unwrap_err()).contains("not of this shape"));
        assert!(message(OneOrBatch::<Thing>::from_value(json!({"things": []})).unwrap_err()).contains("between 1 and 1000"));
        let many: Vec<Value> = (0..1001).map(|n| json!({"n": n})).collect();
        assert!(OneOrBatch::<Thing>::from_value(json!({ "things": many })).is_err());
        assert!(message(OneOrBatch::<Listed>::from_value(json!({})).unwrap_err()).starts_with("Send {\"listed\": [...]}"));
    }
}
