//! The parts every server-paged data table shares: sortable column headers, and row
//! selection (a page at once, or every row matching the filter) with its bar.

use crate::format::thousands;
use leptos::prelude::*;
use std::collections::BTreeSet;

/// A sortable column header: the first press sorts by `asc`, the next by `desc` (when the
/// column has one); `aria-sort` says the state.
pub fn sort_header<S>(label: &'static str, current: Memo<S>, asc: S, desc: Option<S>, set_sort: Callback<S>) -> impl IntoView
where
    S: Copy + PartialEq + Send + Sync + 'static,
{
    let state = move || {
        let s = current.get();
        if s == asc {
            "ascending"
        } else if Some(s) == desc {
            "descending"
        } else {
            "none"
        }
    };
    view! {
        <th scope="col" aria-sort=state>
            <button type="button" class="th-sort" on:click=move |_| set_sort.run(if current.get_untracked() == asc { desc.unwrap_or(asc) } else { asc })>
                {label}
                <span aria-hidden="true">{move || match state() { "ascending" => " \u{25b2}", "descending" => " \u{25bc}", _ => "" }}</span>
            </button>
        </th>
    }
}

/// Which rows are selected: some by id, or every row matching the filter.
#[derive(Debug, Clone, Copy)]
pub struct RowSelection {
    /// Explicitly selected ids.
    pub selected: RwSignal<BTreeSet<i64>>,
    /// Every row matching the filter is selected.
    pub all_matching: RwSignal<bool>,
}

impl RowSelection {
    /// Nothing selected.
    pub fn new() -> Self {
        Self { selected: RwSignal::new(BTreeSet::new()), all_matching: RwSignal::new(false) }
    }

    /// Whether a row is selected.
    pub fn has(&self, id: i64) -> bool {
        self.all_matching.get() || self.selected.with(|s| s.contains(&id))
    }

    /// Selects or unselects one row (leaving "all matching" for an explicit selection).
    pub fn set(&self, id: i64, on: bool) {
        if self.all_matching.get_untracked() {
            self.all_matching.set(false);
        }
        self.selected.update(|s| {
            if on {
                s.insert(id);
            } else {
                s.remove(&id);
            }
        });
    }

    /// Whether every row of `page` is selected.
    pub fn whole(&self, page: &[i64]) -> bool {
        self.all_matching.get() || (!page.is_empty() && self.selected.with(|s| page.iter().all(|id| s.contains(id))))
    }

    /// Selects or unselects every row of `page`.
    pub fn set_page(&self, page: &[i64], on: bool) {
        self.all_matching.set(false);
        self.selected.update(|s| {
            for id in page {
                if on {
                    s.insert(*id);
                } else {
                    s.remove(id);
                }
            }
        });
    }

    /// Clears the selection.
    pub fn clear(&self) {
        self.all_matching.set(false);
        self.selected.set(BTreeSet::new());
    }
}

impl Default for RowSelection {
    fn default() -> Self {
        Self::new()
    }
}

/// "12 selected. Select all 2,400 matching · Clear selection", above the table; `page`
/// holds the ids of the rows shown, `noun` names them ("companies").
#[component]
pub fn SelectionBar(sel: RowSelection, page: StoredValue<Vec<i64>>, total: i64, noun: &'static str) -> AnyView {
    (move || {
        let count = sel.selected.with(|s| s.len());
        if sel.all_matching.get() {
            Some(
                view! {
                    <div class="selection-bar" role="status">
                        <span>{format!("All {} matching {noun} are selected.", thousands(total))}</span>
                        <button type="button" class="btn btn-small btn-quiet" on:click=move |_| sel.clear()>"Clear selection"</button>
                    </div>
                }
                .into_any(),
            )
        } else if count > 0 {
            let whole_page = page.with_value(|ids| sel.whole(ids));
            Some(
                view! {
                    <div class="selection-bar" role="status">
                        <span>{format!("{} selected.", thousands(count as i64))}</span>
                        {(whole_page && total > count as i64).then(|| view! {
                            <button type="button" class="btn btn-small btn-quiet" data-testid="select-all-matching" on:click=move |_| sel.all_matching.set(true)>
                                {format!("Select all {} matching", thousands(total))}
                            </button>
                        })}
                        <button type="button" class="btn btn-small btn-quiet" on:click=move |_| sel.selected.set(BTreeSet::new())>"Clear selection"</button>
                    </div>
                }
                .into_any(),
            )
        } else {
            None
        }
    })
    .into_any()
}

/// The header cell that selects every row of the page.
pub fn select_page_header(sel: RowSelection, page: StoredValue<Vec<i64>>, label: &'static str) -> impl IntoView {
    view! {
        <th scope="col" class="col-check">
            <input type="checkbox" aria-label=label prop:checked=move || page.with_value(|ids| sel.whole(ids))
                on:change=move |ev| { let on = event_target_checked(&ev); page.with_value(|ids| sel.set_page(ids, on)); } />
        </th>
    }
}

/// The cell that selects one row.
pub fn select_row_cell(sel: RowSelection, id: i64, label: String) -> impl IntoView {
    view! {
        <td class="col-check">
            <input type="checkbox" aria-label=label prop:checked=move || sel.has(id) on:change=move |ev| sel.set(id, event_target_checked(&ev)) />
        </td>
    }
}
