//! Shared building blocks: the signed-in layout, status badges, times, dialogs, form field messages, panels, the pager, table sorting and selection, the URL query.

pub mod badge;
pub mod customer;
pub mod dialog;
pub mod field;
pub mod job;
pub mod layout;
pub mod pager;
pub mod panel;
pub mod reach;
pub mod saved;
pub mod search;
pub mod setup_gate;
pub mod table;
pub mod time;
pub mod url_query;
