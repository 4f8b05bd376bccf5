//! Around the contacts table: the search and filters (kept in the URL), "Set for selected",
//! and the notice when there is no destination or package to choose yet.

use super::*;

/// Says what to do when there is nothing to choose from.
pub(super) fn storage_notice(storage: &StorageLists, is_admin: bool) -> Option<AnyView> {
    let no_dest = !storage.destinations.iter().any(|d| !d.retired);
    let no_pkg = !storage.packages.iter().any(|p| !p.retired);
    (no_dest || no_pkg).then(|| {
        let what = match (no_dest, no_pkg) {
            (true, true) => "no destination and no package",
            (true, false) => "no destination",
            _ => "no package",
        };
        view! {
            <div class="panel panel-warn" role="status">
                {format!("There is {what} to choose yet: every backup user needs both. ")}
                {if is_admin { view! { <a href="/storage">"Add them on Storage accounts"</a> }.into_any() } else { view! { <span>"An admin adds them on Storage accounts."</span> }.into_any() }}
            </div>
        }
        .into_any()
    })
}

/// "Set for selected": one destination and/or package for every selected contact.
#[component]
pub(super) fn SetForSelected(
    storage: StorageLists,
    selection_count: impl Fn() -> i64 + Copy + Send + Sync + 'static,
    set_choice: Callback<(ContactSelection, Option<i64>, Option<i64>)>,
    selection: Callback<(), ContactSelection>,
) -> impl IntoView {
    let destination = RwSignal::new(String::new());
    let package = RwSignal::new(String::new());
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = destination.get_untracked().parse().ok();
        let p = package.get_untracked().parse().ok();
        if d.is_some() || p.is_some() {
            set_choice.run((selection.run(()), d, p));
        }
    };
    view! {
        <Show when=move || { selection_count() > 0 }>
            <form class="toolbar set-for-selected" aria-label="Set for selected contacts" on:submit=apply>
                <div class="field">
                    <label for="set-destination">"Destination for selected"</label>
                    <select id="set-destination" prop:value=destination on:change=move |ev| destination.set(event_target_value(&ev))>
                        <option value="">"Leave as is"</option>
                        {storage.destinations.iter().filter(|d| !d.retired).map(|d| view! { <option value=d.destination_id.to_string()>{d.option_label()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="set-package">"Package for selected"</label>
                    <select id="set-package" prop:value=package on:change=move |ev| package.set(event_target_value(&ev))>
                        <option value="">"Leave as is"</option>
                        {storage.packages.iter().filter(|p| !p.retired).map(|p| view! { <option value=p.package_id.to_string()>{p.option_label()}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="btn" data-testid="set-for-selected" disabled=move || destination.get().is_empty() && package.get().is_empty()>
                    {move || format!("Set for {}", count_of(selection_count(), "contact", "contacts"))}
                </button>
                <a class="small" href="/storage">"Add a destination or package"</a>
            </form>
        </Show>
    }
    .into_any()
}

/// Search box and filters; changes go to the URL (page back to 1).
#[component]
pub(super) fn Filters(
    query: Memo<ContactQuery>,
    set_query: Callback<ContactQuery>,
    scope_names: RwSignal<(Option<String>, Option<String>)>,
) -> impl IntoView {
    let apply = move |f: &dyn Fn(&mut ContactQuery)| {
        let mut q = query.get_untracked();
        f(&mut q);
        q.page = 1;
        set_query.run(q);
    };
    // Search as you type, after a short pause.
    let (search, on_input) = crate::components::search::use_search(
        Memo::new(move |_| query.with(|q| q.filter.search.clone())),
        Callback::new(move |text: String| apply(&|q| q.filter.search = text.clone())),
    );
    // The company or customer the list is narrowed to (from a link), shown as a removable chip.
    let scope = move || {
        let (company_name, customer_name) = scope_names.get();
        let (company, customer) = query.with(|q| (q.filter.company_id, q.filter.customer_id));
        let label = match (company, customer) {
            (Some(id), _) => Some(format!("Company: {}", company_name.unwrap_or_else(|| format!("ID {id}")))),
            (None, Some(id)) => Some(format!("Customer: {}", customer_name.unwrap_or_else(|| format!("ID {id}")))),
            _ => None,
        };
        label.map(|label| {
            view! {
                <div class="field">
                    <span class="chip">{label.clone()}
                        <button type="button" class="btn btn-quiet btn-small" aria-label=format!("Remove the filter {label}") on:click=move |_| apply(&|q| { q.filter.company_id = None; q.filter.customer_id = None; })>"\u{2715}"</button>
                    </span>
                </div>
            }
        })
    };
    view! {
        <form class="toolbar" role="search" aria-label="Filter contacts" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let text = search.get_untracked();
            apply(&|q| q.filter.search = text.clone());
        }>
            <div class="field grow">
                <label for="contact-search">"Search"</label>
                <input id="contact-search" type="search" placeholder="Name, email, company or contact ID" prop:value=search on:input=on_input autocomplete="off" />
            </div>
            <div class="field">
                <label for="contact-status">"Integration status"</label>
                <select id="contact-status" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.status = IntegrationStatus::parse(&v));
                }>
                    <option value="" selected=move || query.with(|q| q.filter.status.is_none())>"Any status"</option>
                    {[(IntegrationStatus::Blank, "Not in Taskbridge (blank)"), (IntegrationStatus::Equal, "Equal"), (IntegrationStatus::Modified, "Modified"), (IntegrationStatus::Failed, "Failed")]
                        .into_iter()
                        .map(|(s, label)| view! { <option value=s.as_str() selected=move || query.with(|q| q.filter.status == Some(s))>{label}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="contact-active">"Active"</label>
                <select id="contact-active" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    apply(&|q| q.filter.active = match v.as_str() { "yes" => Some(true), "no" => Some(false), _ => None });
                }>
                    <option value="" selected=move || query.with(|q| q.filter.active.is_none())>"Active and inactive"</option>
                    <option value="yes" selected=move || query.with(|q| q.filter.active == Some(true))>"Active"</option>
                    <option value="no" selected=move || query.with(|q| q.filter.active == Some(false))>"Inactive"</option>
                </select>
            </div>
            {scope}
            <crate::components::pager::RowsPerPage id="contact-per" current=Signal::derive(move || query.with(|q| q.per_page)) on_change=Callback::new(move |v: u32| apply(&|q| q.per_page = v)) />
            <button type="submit" class="sr-only">"Search"</button>
        </form>
    }
}
