//! What a form shows beside a field: the server's message for it, or, once the form was
//! submitted, the first problem the browser's own check found.

use crate::error::AppError;

/// The message for `field`: the server's, else (when `touched`) the local check's.
pub fn field_message(server: Option<AppError>, local: Vec<AppError>, field: &str, touched: bool) -> Option<String> {
    server.and_then(|e| e.field_message(field)).or_else(|| if touched { local.iter().find_map(|e| e.field_message(field)) } else { None })
}
