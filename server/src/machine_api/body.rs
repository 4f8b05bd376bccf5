//! Request bodies of the machine API: one item or a batch under the route's key
//! (`{"events": [...]}`), checked for size, each item read on its own so an item of the
//! wrong shape is reported as that item (`events[3].severity: expected a string`) while
//! the rest of the batch goes on; and the field checks every route shares (text without
//! control characters, timestamps in a sane range).

use super::error::{ApiError, FieldError};
use app::format::excerpt;
use axum::extract::rejection::JsonRejection;
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
    /// The error code of an invalid item sent alone (`invalid_event`).
    const CODE: &'static str;
    /// Whether one item may be sent without the batch around it.
    const ALONE: bool = true;
}

/// Most items per call.
pub const MAX_BATCH: usize = 1_000;

/// The largest body a call may send (1,000 events of 4,000 characters fit).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The items of a call, each read or the field at fault, and whether one was sent alone.
#[derive(Debug)]
pub struct OneOrBatch<T> {
    /// The items, in the order sent.
    pub items: Vec<Result<T, FieldError>>,
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

    /// Reads one item; the error names the field by its path under `prefix`.
    fn item(value: Value, prefix: &str) -> Result<T, FieldError> {
        if !value.is_object() {
            return Err(FieldError::new(prefix.trim_end_matches('.'), format!("Each {} is a JSON object.", T::WHAT)));
        }
        serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { prefix.trim_end_matches('.').to_string() } else { format!("{prefix}{path}") };
            FieldError::new(field, excerpt(&e.into_inner().to_string(), 160))
        })
    }

    /// Reads the items from a JSON value. A single item that cannot be read is the call's
    /// error (422, like any invalid single item); in a batch it is that item's answer.
    pub fn from_value(body: Value) -> Result<Self, ApiError> {
        let bad = |why: &str| ApiError::BadBody(format!("{}: {why}", Self::shape()));
        let (items, single) = match body {
            Value::Object(mut map) if map.contains_key(T::KEY) => {
                let Value::Array(list) = map.remove(T::KEY).unwrap_or_default() else {
                    return Err(bad(&format!("\"{}\" must be an array", T::KEY)));
                };
                if list.is_empty() || list.len() > MAX_BATCH {
                    return Err(ApiError::BadBody(format!("Send between 1 and {MAX_BATCH} {}s per call ({} sent).", T::WHAT, list.len())));
                }
                let items = list.into_iter().enumerate().map(|(i, v)| Self::item(v, &format!("{}[{i}].", T::KEY))).collect();
                (items, false)
            }
            one @ Value::Object(_) if T::ALONE => match Self::item(one, "") {
                Ok(item) => (vec![Ok(item)], true),
                Err(error) => return Err(ApiError::Invalid { code: T::CODE, error }),
            },
            _ => return Err(bad("the body is not of this shape")),
        };
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

    /// The answer when one item was sent alone and it is invalid.
    pub fn single_error(&self, first: Option<&FieldError>) -> Option<ApiError> {
        first.filter(|_| self.single).map(|error| ApiError::Invalid { code: T::CODE, error: error.clone() })
    }
}

impl<S: Send + Sync, T: Item> FromRequest<S> for OneOrBatch<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(body) = Json::<Value>::from_request(req, state).await.map_err(|e| match e {
            JsonRejection::BytesRejection(b) if b.status() == http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(format!(
                "The body is larger than {} MiB: send at most {MAX_BATCH} items per call.",
                MAX_BODY_BYTES / (1024 * 1024)
            )),
            other => ApiError::BadBody(format!("{}: {}", Self::shape(), excerpt(&other.body_text(), 160))),
        })?;
        Self::from_value(body)
    }
}

/// A text field, trimmed: at most `max` characters and no control characters (`multiline`
/// allows line breaks and tabs, for messages). The error names the field.
pub fn text(value: Option<&str>, field: &str, max: usize, multiline: bool) -> Result<String, FieldError> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.chars().count() > max {
        return Err(FieldError::new(field, format!("At most {max} characters.")));
    }
    if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(FieldError::new(field, "Remove the control characters (such as NUL) from this text."));
    }
    Ok(v.to_string())
}

/// An RFC 3339 timestamp in milliseconds, from 2000 to a day after `now`: a clock far in
/// the future would make every later report look older.
pub fn timestamp(value: &str, field: &str, now: i64, example: &str) -> Result<i64, FieldError> {
    let t = chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|_| FieldError::new(field, format!("Give the time as RFC 3339 with a zone, e.g. {example}.")))?
        .timestamp_millis();
    const Y2000: i64 = 946_684_800_000;
    if t < Y2000 || t > now + 24 * 3600 * 1000 {
        return Err(FieldError::new(field, "The time is before 2000 or more than a day ahead: check the sender's clock."));
    }
    Ok(t)
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
        const CODE: &'static str = "invalid_thing";
    }

    #[derive(Debug, serde::Deserialize)]
    struct Listed {}

    impl Item for Listed {
        const KEY: &'static str = "listed";
        const WHAT: &'static str = "listed item";
        const CODE: &'static str = "invalid_listed";
        const ALONE: bool = false;
    }

    #[test]
    fn one_item_or_a_batch() {
        let one = OneOrBatch::<Thing>::from_value(json!({"n": 1})).unwrap();
        assert!(one.single);
        assert_eq!((one.prefix(0), one.items), (String::new(), vec![Ok(Thing { n: 1 })]));
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
        // One bad item of a batch is that item's error; alone, it is the call's (422).
        let batch = OneOrBatch::<Thing>::from_value(json!({"things": [{"n": 1}, {"n": "x".repeat(10_000)}, 7]})).unwrap();
        let errors: Vec<FieldError> = batch.items.into_iter().filter_map(Result::err).collect();
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["things[1].n", "things[2]"]);
        assert!(errors[0].message.starts_with("invalid type: string") && errors[0].message.chars().count() <= 161, "{}", errors[0].message);
        let alone = OneOrBatch::<Thing>::from_value(json!({"n": true})).unwrap_err();
        assert!(matches!(&alone, ApiError::Invalid { code: "invalid_thing", error } if error.field == "n"), "{alone:?}");
        let many: Vec<Value> = (0..1001).map(|n| json!({"n": n})).collect();
        assert!(OneOrBatch::<Thing>::from_value(json!({ "things": many })).is_err());
        assert!(
            text(Some("a\u{0}b"), "f", 10, true).is_err() && text(Some("a\nb"), "f", 10, true).is_ok() && text(Some("a\nb"), "f", 10, false).is_err()
        );
        let now = 1_800_000_000_000;
        assert!(timestamp("9999-12-31T00:00:00Z", "t", now, "").is_err() && timestamp("1999-12-31T00:00:00Z", "t", now, "").is_err());
        assert!(timestamp("2026-11-22T03:12:00Z", "t", now, "").is_ok());
        assert!(message(OneOrBatch::<Listed>::from_value(json!({})).unwrap_err()).starts_with("Send {\"listed\": [...]}"));
    }
}
