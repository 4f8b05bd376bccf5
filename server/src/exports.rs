//! CSV downloads (the Customer Map, the billing history): written by the `csv` crate
//! (quoting, CRLF line ends) with every text cell passed through one formula guard, and
//! served by one response builder. Features build their rows; nothing here reads data.

use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};

/// A cell a spreadsheet must not run: text starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading apostrophe (the OWASP CSV-injection rule). Numbers are
/// written by [`CsvBuilder::row`] callers as plain digits and never pass through here.
pub fn guard(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// One cell: text (guarded) or a number (written as is, a minus sign kept).
pub enum Cell {
    /// Free text from a user or from Autotask.
    Text(String),
    /// A number, already formatted.
    Number(String),
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// A number cell (`None` is an empty cell).
    pub fn number(n: Option<impl ToString>) -> Self {
        Self::Number(n.map(|n| n.to_string()).unwrap_or_default())
    }
}

/// Builds a CSV document in memory, header first.
pub struct CsvBuilder {
    writer: csv::Writer<Vec<u8>>,
}

impl CsvBuilder {
    /// A document with this header line.
    pub fn new(header: &[&str]) -> Result<Self, csv::Error> {
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        writer.write_record(header)?;
        Ok(Self { writer })
    }

    /// Appends a row.
    pub fn row(&mut self, cells: impl IntoIterator<Item = Cell>) -> Result<(), csv::Error> {
        let fields: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Text(s) => guard(&s).into_owned(),
                Cell::Number(s) => s,
            })
            .collect();
        self.writer.write_record(&fields)
    }

    /// The finished document.
    pub fn finish(self) -> Result<String, csv::Error> {
        let bytes = self.writer.into_inner().map_err(|e| e.into_error())?;
        String::from_utf8(bytes).map_err(|e| csv::Error::from(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
    }
}

/// The download response: `attachment; filename="{stem}-{YYYY-MM-DD}.csv"`, never cached.
/// A failure is logged once and answered with a short message.
pub fn download<E: Into<anyhow::Error>>(stem: &str, body: Result<String, E>) -> Response {
    match body {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}-{}.csv\"", &app::format::iso_utc(crate::db::now_ms())[..10])),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            crate::error::internal(e);
            (StatusCode::INTERNAL_SERVER_ERROR, "The export failed; try again.").into_response()
        }
    }
}

/// The answer to an export request without a session.
pub fn sign_in_first(what: &str) -> Response {
    (StatusCode::UNAUTHORIZED, format!("Sign in to export {what}.")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_fields_quoted() {
        let mut csv = CsvBuilder::new(&["a", "b", "c"]).unwrap_or_else(|e| panic!("{e}"));
        csv.row([Cell::text("=SUM(A1)"), Cell::text("Smith, \"Jones\""), Cell::number(Some(-3))]).unwrap_or_else(|e| panic!("{e}"));
        csv.row([Cell::text("\tTab"), Cell::text("@cmd"), Cell::number(None::<i64>)]).unwrap_or_else(|e| panic!("{e}"));
        let text = csv.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text, "a,b,c\r\n'=SUM(A1),\"Smith, \"\"Jones\"\"\",-3\r\n'\tTab,'@cmd,\r\n");
    }

    #[test]
    fn plain_text_is_left_alone() {
        assert_eq!(guard("Acme Dental"), "Acme Dental");
        assert_eq!(guard("+1 555"), "'+1 555");
        assert_eq!(guard("\rx"), "'\rx");
    }
}
