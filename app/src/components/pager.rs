//! The pager under a server-paged table: "1–100 of 20,000", previous and next.

use crate::format::thousands;
use leptos::prelude::*;

/// Rows `first`–`last` of `total` and the page buttons; `on_page` gets the page asked for.
#[component]
pub fn Pager(
    /// Matching rows in all.
    total: i64,
    /// This page, from 1.
    page: i64,
    /// Rows per page.
    per_page: i64,
    /// Rows on this page.
    shown: usize,
    /// Called with the page to go to.
    on_page: Callback<i64>,
    /// Shown after the count (e.g. when the rows were last refreshed).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let per_page = per_page.max(1);
    let first = if shown == 0 { 0 } else { (page - 1) * per_page + 1 };
    let last = first + shown as i64 - i64::from(shown > 0);
    let pages = ((total + per_page - 1) / per_page).max(1);
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="table-count">{format!("{}\u{2013}{} of {}", thousands(first), thousands(last), thousands(total))}{children.map(|c| c())}</span>
            <button type="button" class="btn btn-small" disabled={page <= 1} on:click=move |_| on_page.run(page - 1)>"\u{2039} Previous"</button>
            <span>{format!("Page {page} of {pages}")}</span>
            <button type="button" class="btn btn-small" disabled={page >= pages} on:click=move |_| on_page.run(page + 1)>"Next \u{203a}"</button>
        </nav>
    }
}

/// The page sizes a server-paged list offers; 50 is the default.
pub const PAGE_SIZES: &[u32] = &[25, 50, 100, 200];

/// `per` from the URL when it is one of [`PAGE_SIZES`], else the default 50.
pub fn per_page_param(raw: Option<String>) -> u32 {
    raw.and_then(|v| v.parse().ok()).filter(|n| PAGE_SIZES.contains(n)).unwrap_or(50)
}

/// The "Rows" drop-down of a list's toolbar (`id` names its select for the label).
#[component]
pub fn RowsPerPage(
    /// The select's id.
    id: &'static str,
    /// The rows per page now.
    #[prop(into)]
    current: Signal<u32>,
    /// Called with the size chosen.
    on_change: Callback<u32>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>"Rows"</label>
            <select id=id on:change=move |ev| on_change.run(event_target_value(&ev).parse().unwrap_or(50))>
                {PAGE_SIZES.iter().map(|n| {
                    let n = *n;
                    view! { <option value=n.to_string() selected=move || current.get() == n>{n.to_string()}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}
