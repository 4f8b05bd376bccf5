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

/// Binds every argument in order, for a query whose rows decode into `O`.
pub fn bind_all_as<'q, O>(
    mut q: sqlx::query::QueryAs<'q, Any, O, AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryAs<'q, Any, O, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// Binds every argument in order, for a query of one column decoding into `O`.
pub fn bind_all_scalar<'q, O>(
    mut q: sqlx::query::QueryScalar<'q, Any, O, AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryScalar<'q, Any, O, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// A list query built from optional filters and read by keyset: conditions are added
/// with `?` standing for their value, and [`Keyset::finish`] orders and limits it.
#[derive(Debug, Clone)]
pub struct Keyset {
    sql: String,
    args: Vec<Arg>,
}

impl Keyset {
    /// Starts from a `select ... where <partner column> = $1`.
    pub fn new(select: &str, partner_id: i64) -> Self {
        Self { sql: select.to_string(), args: vec![Arg::Int(partner_id)] }
    }

    /// Adds ` and <cond>` (its `?`s all stand for `v`) when there is a value.
    pub fn and(&mut self, cond: &str, v: Option<Arg>) -> &mut Self {
        if let Some(v) = v {
            self.args.push(v);
            self.sql.push_str(" and ");
            self.sql.push_str(&cond.replace('?', &format!("${}", self.args.len())));
        }
        self
    }

    /// Adds ` and <cond>` with one bind per value (`$`s numbered in order: `{}` stands
    /// for each bind's placeholder, joined by `join`).
    pub fn and_any(&mut self, each: &str, join: &str, values: Vec<Arg>) -> &mut Self {
        if values.is_empty() {
            return self;
        }
        let mut parts = Vec::with_capacity(values.len());
        for v in values {
            self.args.push(v);
            parts.push(each.replace("{}", &format!("${}", self.args.len())));
        }
        self.sql.push_str(&format!(" and ({})", parts.join(join)));
        self
    }

    /// Orders by `id` (newest first, or oldest first when reading a newer page) and
    /// limits; returns the SQL and its binds.
    pub fn finish(mut self, id: &str, newer: bool, limit: i64) -> (String, Vec<Arg>) {
        self.args.push(Arg::Int(limit));
        self.sql.push_str(&format!(" order by {id} {} limit ${}", if newer { "asc" } else { "desc" }, self.args.len()));
        (self.sql, self.args)
    }
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

/// ` and (<name_col> like $n or <id_col> = $m)` for a search box (the id part only when
/// the text is a number), pushing its arguments; empty text adds nothing.
pub fn search_sql(search: &str, name_col: &str, id_col: &str, args: &mut Vec<Arg>) -> String {
    let search = search.trim();
    if search.is_empty() {
        return String::new();
    }
    args.push(Arg::Text(format!("%{}%", like_escape(&search.to_lowercase()))));
    let like = format!("${}", args.len());
    match search.parse::<i64>() {
        Ok(id) => {
            args.push(Arg::Int(id));
            format!(" and ({name_col} like {like} escape '\\' or {id_col} = ${})", args.len())
        }
        Err(_) => format!(" and {name_col} like {like} escape '\\'"),
    }
}

/// The page actually shown (clamped to the last page), the page size (1..=`max`) and the
/// row offset, for `total` matching rows.
pub fn page_bounds(total: i64, page: u32, per_page: u32, max: u32) -> (u32, u32, i64) {
    let per_page = per_page.clamp(1, max);
    let last = ((total.max(1) + per_page as i64 - 1) / per_page as i64) as u32;
    let page = page.clamp(1, last);
    (page, per_page, (page as i64 - 1) * per_page as i64)
}
