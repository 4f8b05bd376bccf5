//! The Customer Map page: Taskbridge customers beside their Autotask companies (and the
//! reverse view), suggestions to confirm, manual matches through a searchable picker or a
//! typed Autotask ID, customers created from companies, billing contracts, and an explicit
//! Save of staged changes (with a warning before leaving unsaved work).
//!
//! `staging.rs` is the staged-changes model (pure, tested); `tables.rs` the two tables,
//! `pickers.rs` the company and customer pickers, `contracts.rs` the contracts dialog.

mod contracts;
mod pickers;
mod staging;
mod tables;

use contracts::ContractsDialog;
use pickers::{CompanyPicker, CustomerPicker};
use staging::Staged;
use tables::{CompanyTable, CustomerTable};

use crate::api::map::{find_company, find_exact_matches, get_contracts, map_companies, map_customers, map_history, save_customer_map};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::Modal;
use crate::components::layout::Me;
use crate::components::pager::Pager;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::error::AppError;
use crate::format::{encode_query_value, thousands};
use crate::regions::{region_label, region_short};
use crate::types::map::{
    CompanyFilter, CompanyMapPage, CompanyRow, ContractOption, CustomerFilter, CustomerMapPage, CustomerRow, Flag, FlagCode, MapChange, MapCounts,
    MapQuery, Suggestion,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use std::collections::BTreeSet;

/// What the page shares with its parts.
#[derive(Clone, Copy)]
struct MapCtx {
    staged: RwSignal<Vec<Staged>>,
    is_admin: Signal<bool>,
    /// Opens the company picker for a customer.
    pick_company: RwSignal<Option<(i64, String)>>,
    /// Opens the customer picker for a company.
    pick_customer: RwSignal<Option<(i64, String)>>,
    /// Opens the contracts dialog for a customer, with the companies it will be linked to.
    contracts_for: RwSignal<Option<(i64, String, Vec<i64>)>>,
}

impl MapCtx {
    fn stage(&self, change: MapChange, label: String) {
        self.staged.update(|s| {
            staging::stage(s, change, label);
        });
    }
    fn pending_for_customer(&self, id: i64) -> Vec<String> {
        self.staged.with(|s| staging::pending_for_customer(s, id))
    }
    fn pending_for_company(&self, id: i64) -> Vec<String> {
        self.staged.with(|s| staging::pending_for_company(s, id))
    }
}

/// Keeps a dialog's `open` flag and the value it was opened for in step, setting each only
/// when it differs (setting an unchanged signal would wake the other effect forever).
fn sync_open<T: Clone + Send + Sync + 'static>(open: RwSignal<bool>, target: RwSignal<Option<T>>) {
    Effect::new(move |_| {
        let wanted = target.with(Option::is_some);
        if open.get_untracked() != wanted {
            open.set(wanted);
        }
    });
    Effect::new(move |_| {
        if !open.get() && target.with_untracked(Option::is_some) {
            target.set(None);
        }
    });
}

/// The page.
#[component]
pub fn CustomerMapPage() -> impl IntoView {
    let me = expect_context::<Me>().0;
    let is_admin = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(m)) = me.get() {
            is_admin.set(m.is_admin());
        }
    });
    let params = use_query_map();
    let view_companies = Memo::new(move |_| params.with(|p| p.get("view").as_deref() == Some("companies")));
    let query = Memo::new(move |_| {
        params.with(|p| MapQuery {
            search: p.get("q").unwrap_or_default(),
            customers: match p.get("f").as_deref() {
                Some("matched") => CustomerFilter::Matched,
                Some("all") => CustomerFilter::All,
                _ => CustomerFilter::Unmatched,
            },
            companies: match p.get("f").as_deref() {
                Some("suggested") => CompanyFilter::Suggested,
                Some("unmatched") => CompanyFilter::Unmatched,
                Some("matched") => CompanyFilter::Matched,
                _ => CompanyFilter::All,
            },
            page: p.get("page").and_then(|v| v.parse().ok()).unwrap_or(1),
            per_page: 50,
        })
    });
    let navigate = use_navigate();
    let go = StoredValue::new(move |view: &str, filter: &str, search: &str, page: u32| {
        let mut parts = vec![format!("view={view}")];
        if !filter.is_empty() {
            parts.push(format!("f={filter}"));
        }
        if !search.trim().is_empty() {
            parts.push(format!("q={}", encode_query_value(search.trim())));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        navigate(&format!("/map?{}", parts.join("&")), NavigateOptions { replace: true, scroll: false, ..Default::default() });
    });
    let current_filter = move || -> String { params.with(|p| p.get("f").unwrap_or_default()) };
    let view_name = move || if view_companies.get() { "companies" } else { "customers" };

    let ctx = MapCtx {
        staged: RwSignal::new(Vec::new()),
        is_admin: is_admin.into(),
        pick_company: RwSignal::new(None),
        pick_customer: RwSignal::new(None),
        contracts_for: RwSignal::new(None),
    };
    provide_context(ctx);
    let reload = RwSignal::new(0u32);
    let customers = Resource::new(
        move || (view_companies.get(), query.get(), reload.get()),
        |(companies, q, _)| async move {
            if companies {
                Ok(None)
            } else {
                map_customers(q).await.map(Some)
            }
        },
    );
    let companies = Resource::new(
        move || (view_companies.get(), query.get(), reload.get()),
        |(companies, q, _)| async move {
            if companies {
                map_companies(q).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let history = Resource::new(move || reload.get(), |_| map_history());
    let counts = RwSignal::new(None::<MapCounts>);

    // Warn before leaving with unsaved changes.
    #[cfg(feature = "hydrate")]
    {
        let staged = ctx.staged;
        let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if staged.with_untracked(|s| !s.is_empty()) {
                ev.prevent_default();
                ev.set_return_value("unsaved");
            }
        });
        on_cleanup(move || handle.remove());
        leave_guard(staged);
    }

    let saving = RwSignal::new(false);
    let save_error = RwSignal::new(None::<AppError>);
    let saved_note = RwSignal::new(None::<String>);
    // A refusal is about the changes as they were: one undone or added clears it.
    Effect::new(move |_| {
        ctx.staged.track();
        if save_error.with_untracked(Option::is_some) {
            save_error.set(None);
        }
    });
    let save = move |_| {
        let changes: Vec<MapChange> = ctx.staged.get_untracked().into_iter().map(|s| s.change).collect();
        saving.set(true);
        save_error.set(None);
        leptos::task::spawn_local(async move {
            match save_customer_map(changes).await {
                Ok(done) => {
                    ctx.staged.set(Vec::new());
                    saved_note.set(Some(format!("Saved {} change{}.", done.applied, if done.applied == 1 { "" } else { "s" })));
                    reload.update(|n| *n += 1);
                }
                Err(e) => save_error.set(Some(e)),
            }
            saving.set(false);
        });
    };

    let search = RwSignal::new(query.get_untracked().search);
    let tab = move |name: &'static str, label: &'static str| {
        let selected = move || view_name() == name;
        view! {
            <button type="button" role="tab" class="tab" aria-selected=move || selected().to_string() tabindex=move || if selected() { "0" } else { "-1" }
                on:click=move |_| { search.set(String::new()); go.with_value(|go| go(name, "", "", 1)); }>
                {label}
            </button>
        }
    };
    let filter_options = move || -> Vec<(&'static str, &'static str)> {
        if view_companies.get() {
            vec![("", "All"), ("suggested", "Suggested"), ("unmatched", "Unmatched"), ("matched", "Matched")]
        } else {
            vec![("", "Unmatched"), ("matched", "Matched"), ("all", "All")]
        }
    };

    view! {
        <PageHeader title="Customer Map" lead="Every Taskbridge customer beside its Autotask company. Links hold by Autotask ID, so renames never break them; Save applies your changes together.">
            <a class="btn" href="/exports/customer-map.csv" download rel="external">"Export CSV"</a>
        </PageHeader>
        {move || counts.get().map(|c| view! {
            <p class="map-counts" data-testid="map-counts">
                {format!("{} customers, {} matched \u{00b7} {} suggested ({} exact) \u{00b7} {} Autotask companies, {} matched",
                    thousands(c.customers), thousands(c.customers_matched), thousands(c.suggested), thousands(c.exact), thousands(c.companies), thousands(c.companies_matched))}
            </p>
        })}
        <UnsavedBar saving save_error saved_note on_save=Callback::new(save) />
        <div class="tabs" role="tablist" aria-label="Side of the map">
            {tab("customers", "Taskbridge customers")}
            {tab("companies", "Autotask companies")}
        </div>
        <form class="toolbar" role="search" aria-label="Filter the map" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            go.with_value(|go| go(view_name(), &current_filter(), &text, 1));
        }>
            <div class="field grow">
                <label for="map-search">"Search"</label>
                <input id="map-search" type="search" placeholder="Name or ID, then Enter" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="map-filter">"Match status"</label>
                <select id="map-filter" on:change=move |ev| {
                    let f = event_target_value(&ev);
                    go.with_value(|go| go(view_name(), &f, &search.get_untracked(), 1));
                }>
                    {move || filter_options().into_iter().map(|(value, label)| view! {
                        <option value=value selected=move || current_filter() == value>{label}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class="btn">"Search"</button>
        </form>
        <Show when=move || !view_companies.get()>
            <Transition fallback=|| view! { <Loading what="customers" /> }>
                {move || Suspend::new(async move {
                    let set_page = Callback::new(move |p: u32| go.with_value(|go| go("customers", &current_filter(), &search.get_untracked(), p)));
                    match customers.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(page)) => {
                            counts.set(Some(page.counts.clone()));
                            view! { <CustomerTable page set_page query=query.get_untracked() /> }.into_any()
                        }
                    }
                })}
            </Transition>
        </Show>
        <Show when=move || view_companies.get()>
            <Transition fallback=|| view! { <Loading what="Autotask companies" /> }>
                {move || Suspend::new(async move {
                    let set_page = Callback::new(move |p: u32| go.with_value(|go| go("companies", &current_filter(), &search.get_untracked(), p)));
                    match companies.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(page)) => {
                            counts.set(Some(page.counts.clone()));
                            view! { <CompanyTable page set_page /> }.into_any()
                        }
                    }
                })}
            </Transition>
        </Show>
        <CompanyPicker />
        <CustomerPicker />
        <ContractsDialog />
        <section class="card history" aria-label="Map history">
            <h2>"History"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match history.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No changes yet. Links, contracts and created customers are recorded here with who made them."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="history-list" data-testid="map-history">
                                {list.into_iter().map(|h| view! { <li><Time ms=Some(h.at) />" \u{00b7} "<span class="muted">{h.actor}</span>" \u{00b7} "{h.summary}</li> }).collect_view()}
                            </ul>
                            <A href="/history/changes?area=map">"Every Customer Map change, with filters"</A>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn UnsavedBar(
    saving: RwSignal<bool>,
    save_error: RwSignal<Option<AppError>>,
    saved_note: RwSignal<Option<String>>,
    on_save: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<MapCtx>();
    let count = move || ctx.staged.with(|s| s.len());
    view! {
        {move || (count() == 0).then(|| saved_note.get().map(|n| view! { <div class="panel panel-success" role="status">{n}</div> })).flatten()}
        <Show when=move || { count() > 0 }>
            <div class="unsaved-bar" role="region" aria-label="Unsaved changes" data-testid="unsaved">
                <div class="grow">
                    <strong>{move || format!("{} unsaved change{}", count(), if count() == 1 { "" } else { "s" })}</strong>
                    <ul>
                        {move || ctx.staged.get().into_iter().enumerate().map(|(i, s)| view! {
                            <li>{s.label}" "<button type="button" class="btn btn-quiet btn-small" aria-label="Undo this change" on:click=move |_| ctx.staged.update(|v| { v.remove(i); })>"Undo"</button></li>
                        }).collect_view()}
                    </ul>
                    {move || save_error.get().map(|error| view! { <ErrorPanel error /> })}
                </div>
                <div class="unsaved-actions">
                    <button type="button" class="btn" on:click=move |_| { ctx.staged.set(Vec::new()); save_error.set(None); }>"Discard"</button>
                    <button type="button" class="btn btn-primary" data-testid="save-map" disabled=move || saving.get() on:click=move |_| on_save.run(())>
                        {move || if saving.get() { "Saving\u{2026}" } else { "Save changes" }}
                    </button>
                </div>
            </div>
        </Show>
    }
}

/// Asks before an in-app link (the side menu, the header) leaves the map with unsaved
/// changes: a capturing listener on the document sees the click before the router does,
/// and stops it when the user chooses to stay.
#[cfg(feature = "hydrate")]
fn leave_guard(staged: RwSignal<Vec<Staged>>) {
    use leptos::wasm_bindgen::{closure::Closure, JsCast};
    let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
        let n = staged.with_untracked(|s| s.len());
        if n == 0 || ev.default_prevented() {
            return;
        }
        let Some(link) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|t| t.closest("a[href]").ok().flatten()) else {
            return;
        };
        let href = link.get_attribute("href").unwrap_or_default();
        if href == "/map" || href.starts_with("/map?") || href.starts_with('#') {
            return;
        }
        let changes = if n == 1 { "1 unsaved change".to_string() } else { format!("{n} unsaved changes") };
        let leave = window().confirm_with_message(&format!("You have {changes} on the Customer Map. Leave and lose them?")).unwrap_or(true);
        if !leave {
            ev.prevent_default();
            ev.stop_immediate_propagation();
        }
    });
    let listener: js_sys::Function = on_click.as_ref().unchecked_ref::<js_sys::Function>().clone();
    let _ = document().add_event_listener_with_callback_and_bool("click", &listener, true);
    // The browser's objects stay on its one thread; the wrapper only lets the cleanup hold them.
    let held = send_wrapper::SendWrapper::new((listener, on_click));
    on_cleanup(move || {
        let (listener, on_click) = held.take();
        let _ = document().remove_event_listener_with_callback_and_bool("click", &listener, true);
        drop(on_click);
    });
}
