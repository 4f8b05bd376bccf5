//! What every change feed of the machine API shares (`GET /api/v1/backup-users`,
//! `GET /api/v1/customers`): the `changed_since` cursor (`<ms>.<id>`, or an RFC 3339
//! time), the page size, and the settle time before a change is shown.

use super::error::{ApiError, FieldError};
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde::Deserialize;

/// Largest page of a feed.
pub const MAX_LIMIT: i64 = 1_000;

/// A feed shows changes once they are this old. A change is stamped when it is written
/// and visible when its transaction commits, so a younger stamp may still be joined by an
/// older one committing late; every transaction that writes a fed table is one short
/// batch, far below this.
pub const SETTLE_MS: i64 = 3_000;

/// The query of a feed.
#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    /// The `next_cursor` of the previous answer (or an RFC 3339 time).
    pub changed_since: Option<String>,
    /// Page size, 1 to 1,000 (default 500).
    pub limit: Option<String>,
}

/// Milliseconds as RFC 3339 (UTC, with milliseconds).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap_or_default()
}

/// Reads a cursor (`<ms>.<id>`) or an RFC 3339 time.
pub fn parse_cursor(raw: &str) -> Option<(i64, i64)> {
    let raw = raw.trim();
    if let Some((ms, id)) = raw.split_once('.') {
        if let (Ok(ms), Ok(id)) = (ms.parse::<i64>(), id.parse::<i64>()) {
            return (ms >= 0 && id >= 0).then_some((ms, id));
        }
    }
    chrono::DateTime::parse_from_rfc3339(raw).ok().map(|t| (t.timestamp_millis() - 1, i64::MAX))
}

/// The position to read after (`(-1, 0)`: from the beginning) and the page size, or the
/// 422 naming the parameter to fix.
pub fn bounds(query: Result<Query<FeedQuery>, QueryRejection>) -> Result<((i64, i64), i64), ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::BadBody(format!("The query string cannot be read: {}", app::format::excerpt(&e.body_text(), 200))))?;
    let after = match query.changed_since.as_deref().filter(|s| !s.trim().is_empty()) {
        None => (-1, 0),
        Some(raw) => parse_cursor(raw).ok_or_else(|| ApiError::Invalid {
            code: "invalid_query",
            error: FieldError::new("changed_since", "Send the next_cursor of the previous answer, or an RFC 3339 time such as 2026-12-01T00:00:00Z."),
        })?,
    };
    let limit = match query.limit.as_deref() {
        None => 500,
        Some(raw) => raw.trim().parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| ApiError::Invalid {
            code: "invalid_query",
            error: FieldError::new("limit", format!("Send a limit from 1 to {MAX_LIMIT}.")),
        })?,
    };
    Ok((after, limit))
}

/// The cursor after a page: its last row's position, else where it started.
pub fn next_cursor(last: Option<(i64, i64)>, after: (i64, i64)) -> String {
    let next = last.unwrap_or(if after.0 < 0 { (0, 0) } else { after });
    format!("{}.{}", next.0, next.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_times_are_read_strictly() {
        assert_eq!(parse_cursor("1764547200000.42"), Some((1_764_547_200_000, 42)));
        assert_eq!(parse_cursor("2026-12-01T00:00:00Z"), Some((1_796_083_199_999, i64::MAX)));
        for bad in ["", "yesterday", "12.x", "-5.3", "1.2.3"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
        assert_eq!(next_cursor(None, (-1, 0)), "0.0");
        assert_eq!(next_cursor(None, (5, 7)), "5.7");
        assert_eq!(next_cursor(Some((9, 3)), (5, 7)), "9.3");
    }
}
