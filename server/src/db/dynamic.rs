//! Helpers for SQL built at run time (filters, `in` lists) over the `Any` driver.

use sqlx::any::AnyArguments;
use sqlx::Any;

/// A bind value for dynamically built SQL.
#[derive(Debug, Clone)]
pub enum Arg {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A query over the `Any` driver.
pub type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// Binds every argument in order.
pub fn bind_all<'q>(mut q: AnyQuery<'q>, args: &'q [Arg]) -> AnyQuery<'q> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// Escapes `%`, `_` and `\` for a `like ... escape '\'` pattern.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// `prefix ($2, $3, ...)` with the partner as `$1`.
pub fn in_list(prefix: &str, partner_id: i64, ids: &[i64]) -> (String, Vec<Arg>) {
    let params: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut args = vec![Arg::Int(partner_id)];
    args.extend(ids.iter().map(|id| Arg::Int(*id)));
    (format!("{prefix} ({})", params.join(", ")), args)
}

