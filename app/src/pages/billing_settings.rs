//! "Billing" on the Setup page: "Retrieve services" from Autotask (monthly services
//! eligible; the others listed with the reason), each product's service or "Do not map",
//! and the rounding of storage products.

use crate::api::billing::{get_billing_schedule, get_billing_settings, retrieve_services, SaveBillingSchedule, SaveBillingSettings};
use crate::components::panel::{ErrorPanel, Loading};
use crate::components::time::Time;
use crate::error::AppError;
use crate::types::billing::{parse_threshold, product, rounding_warning, BillingSchedule, BillingSettings, ProductMapping, Rounding, ServiceOption};
use leptos::prelude::*;

/// The billing card.
#[component]
pub fn BillingSettingsCard(is_admin: bool) -> impl IntoView {
    let save = ServerAction::<SaveBillingSettings>::new();
    let saved = crate::components::saved::saves(save);
    let current = Resource::new(move || saved.get(), |_| get_billing_settings());
    let services = RwSignal::new(None::<Vec<ServiceOption>>);
    view! {
        <section class="card form billing-settings" aria-labelledby="billing-settings-title">
            <h2 id="billing-settings-title">"Billing"</h2>
            <p class="muted">"Which Autotask service each product is billed as. Only monthly services can carry monthly usage; a product set to \u{201c}Do not map\u{201d} is not billed."</p>
            <Transition fallback=|| view! { <Loading what="the billing settings" /> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(s) => view! { <BillingForm initial=s save services is_admin /> }.into_any(),
                    }
                })}
            </Transition>
            <ScheduleForm is_admin />
        </section>
    }
    .into_any()
}

/// When pushes run by themselves.
#[component]
fn ScheduleForm(is_admin: bool) -> impl IntoView {
    let save = ServerAction::<SaveBillingSchedule>::new();
    let saved = crate::components::saved::saves(save);
    let current = Resource::new(move || saved.get(), |_| get_billing_schedule());
    let every = RwSignal::new(String::new());
    let hold = RwSignal::new(String::new());
    let allow_add = RwSignal::new(false);
    // "Saved." until the form is touched again.
    let saved_note = RwSignal::new(false);
    let hold_error = RwSignal::new(None::<&'static str>);
    Effect::new(move |n: Option<u32>| {
        let now = saved.get();
        if n.is_some_and(|n| n != now) {
            saved_note.set(true);
        }
        now
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = current.get() {
            every.set(s.every_hours.to_string());
            hold.set(s.hold_above.map(|h| h.to_string()).unwrap_or_default());
            allow_add.set(s.allow_add_service);
        }
    });
    let field_error = move |f: &str| save.value().get().and_then(Result::err).and_then(|e| e.field_message(f));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let hold_text = hold.get_untracked();
        let hold_above = match parse_threshold(&hold_text) {
            Ok(h) => h,
            Err(e) => {
                hold_error.set(Some(e));
                return;
            }
        };
        hold_error.set(None);
        let schedule = BillingSchedule {
            every_hours: every.get_untracked().trim().parse().unwrap_or(0),
            hold_above,
            enabled: false,
            next_run_at: None,
            allow_add_service: allow_add.get_untracked(),
        };
        save.dispatch(SaveBillingSchedule { schedule });
    };
    view! {
        <form class="form-inline schedule-form" on:submit=submit on:input=move |_| saved_note.set(false) on:change=move |_| saved_note.set(false) novalidate aria-label="Automatic pushes">
            <div class="field">
                <label for="schedule-every">"Push automatically every (hours)"</label>
                <input id="schedule-every" type="number" min="1" max="744" step="1" class="input-narrow" disabled=!is_admin prop:value=every on:input=move |ev| every.set(event_target_value(&ev)) />
                <p class="field-error">{move || field_error("every_hours")}</p>
            </div>
            <div class="field">
                <label for="schedule-hold">"Hold changes larger than (units)"</label>
                <input id="schedule-hold" type="number" min="0" step="1" class="input-narrow" placeholder="No limit" disabled=!is_admin prop:value=hold on:input=move |ev| hold.set(event_target_value(&ev)) />
                <p class="field-error">{move || hold_error.get().map(str::to_string).or_else(|| field_error("hold_above"))}</p>
            </div>
            <div class="field">
                <label class="check"><input type="checkbox" disabled=!is_admin prop:checked=allow_add on:change=move |ev| allow_add.set(event_target_checked(&ev)) />" Add a mapped service to a contract that lacks it"</label>
            </div>
            {is_admin.then(|| view! {
                <button type="submit" class="btn" disabled=move || save.pending().get()>"Save"</button>
                <span class="muted" role="status" data-testid="schedule-saved">{move || saved_note.get().then_some("Saved.")}</span>
            })}
            <p class="muted small" role="status">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match current.await {
                            Ok(s) if !s.enabled => view! { "Off: create a \u{201c}Synchronize with Autotask\u{201d} notification to push on this schedule." }.into_any(),
                            Ok(s) => match s.next_run_at {
                                Some(at) => view! { "Next automatic push " <Time ms=Some(at) /> "." }.into_any(),
                                None => view! { "The first automatic push runs within a minute." }.into_any(),
                            },
                            Err(_) => ().into_any(),
                        }
                    })}
                </Transition>
            </p>
        </form>
    }
    .into_any()
}

#[component]
fn BillingForm(
    initial: BillingSettings,
    save: ServerAction<SaveBillingSettings>,
    services: RwSignal<Option<Vec<ServiceOption>>>,
    is_admin: bool,
) -> impl IntoView {
    let mappings = RwSignal::new(initial.mappings.clone());
    let baseline = StoredValue::new(initial.mappings.clone());
    let dirty = Memo::new(move |_| mappings.with(|m| baseline.with_value(|b| m != b)));
    let retrieving = RwSignal::new(false);
    let retrieve_error = RwSignal::new(None::<AppError>);
    let saved_note = RwSignal::new(false);
    let retrieve = move |_| {
        retrieving.set(true);
        retrieve_error.set(None);
        leptos::task::spawn_local(async move {
            match retrieve_services().await {
                Ok(list) => services.set(Some(list)),
                Err(e) => retrieve_error.set(Some(e)),
            }
            retrieving.set(false);
        });
    };
    Effect::new(move |_| {
        if let Some(Ok(s)) = save.value().get() {
            baseline.set_value(s.mappings);
            saved_note.set(true);
        }
    });
    let server_error = move || save.value().get().and_then(Result::err);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved_note.set(false);
        save.dispatch(SaveBillingSettings { mappings: mappings.get_untracked() });
    };
    let update = move |index: usize, f: &dyn Fn(&mut ProductMapping)| {
        saved_note.set(false);
        mappings.update(|m| {
            if let Some(x) = m.get_mut(index) {
                f(x);
            }
        });
    };
    let rows = initial
        .mappings
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let p = product(&m.product);
            let label = p.map_or(m.product.clone(), |p| p.label.to_string());
            let unit = p.map_or("unit", |p| p.unit);
            let storage = p.is_some_and(|p| p.storage);
            let select_id = format!("billing-service-{}", m.product);
            let current = move || mappings.with(|all| all.get(index).cloned());
            let options = move || {
                let m = current();
                let chosen = m.as_ref().and_then(|m| m.service_id);
                let mut views = vec![view! { <option value="" selected=chosen.is_none()>"Do not map"</option> }.into_any()];
                match services.get() {
                    None => {
                        if let Some((id, name)) = m.as_ref().and_then(|m| Some((m.service_id?, m.service_name.clone().unwrap_or_default()))) {
                            views.push(view! { <option value=id.to_string() selected=true>{name}</option> }.into_any());
                        }
                    }
                    Some(list) => {
                        if let Some(id) = chosen.filter(|id| !list.iter().any(|s| s.service_id == *id)) {
                            views.push(view! { <option value=id.to_string() selected=true>{format!("Service {id} (no longer in Autotask)")}</option> }.into_any());
                        }
                        for s in list {
                            let text = match &s.reason {
                                None => format!("{} \u{2014} {} / month", s.name, s.unit_price),
                                Some(r) => format!("{} \u{2014} not eligible: {r}", s.name),
                            };
                            views.push(view! { <option value=s.service_id.to_string() disabled=!s.eligible selected=chosen == Some(s.service_id)>{text}</option> }.into_any());
                        }
                    }
                }
                views
            };
            let error = move |f: &str| server_error().and_then(|e| e.field_message(&format!("mappings[{index}].{f}")));
            view! {
                <tr data-product=m.product.clone()>
                    <td class="cell-name"><label for=select_id.clone()>{label.clone()}</label><br /><span class="muted small">{format!("per {unit}")}</span></td>
                    <td>
                        <select id=select_id disabled=!is_admin on:change=move |ev| {
                            let v = event_target_value(&ev);
                            let id = v.parse::<i64>().ok();
                            let name = services.with(|l| l.as_ref().and_then(|l| l.iter().find(|s| Some(s.service_id) == id).map(|s| s.name.clone())));
                            update(index, &|m| { m.service_id = id; m.service_name = name.clone(); });
                        }>{options}</select>
                        <p class="field-error">{move || error("service_id")}</p>
                    </td>
                    <td>{if storage {
                        view! {
                            <div class="form-inline">
                                <label class="sr-only" for=format!("billing-rounding-{index}")>{format!("Rounding of {label}")}</label>
                                <select id=format!("billing-rounding-{index}") disabled=!is_admin on:change=move |ev| {
                                    let r = Rounding::parse(&event_target_value(&ev)).unwrap_or_default();
                                    update(index, &|m| m.rounding = r);
                                }>
                                    {[Rounding::Up, Rounding::Nearest, Rounding::Down].into_iter().map(|r| view! { <option value=r.as_str() selected=move || current().is_some_and(|m| m.rounding == r)>{r.label()}</option> }).collect_view()}
                                </select>
                                <label for=format!("billing-unit-{index}")>"to"</label>
                                <input id=format!("billing-unit-{index}") type="number" min="0.001" step="any" class="input-narrow" disabled=!is_admin
                                    prop:value=move || current().map(|m| m.unit_size.to_string()).unwrap_or_default()
                                    on:input=move |ev| { let v = event_target_value(&ev).trim().parse::<f64>().unwrap_or(0.0); update(index, &|m| m.unit_size = v); } />
                                <span>{unit}</span>
                            </div>
                            <p class="field-error">{move || error("unit_size")}</p>
                            <p class="field-hint text-warn" role="status" data-testid="rounding-warning">
                                {move || current().and_then(|m| rounding_warning(&m, unit))}
                            </p>
                        }.into_any()
                    } else {
                        view! { <span class="muted">"As reported"</span> }.into_any()
                    }}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <form on:submit=submit novalidate aria-label="Billing settings">
            <div class="table-wrap">
                <table class="table" aria-label="Products">
                    <thead><tr><th scope="col">"Product"</th><th scope="col">"Autotask service"</th><th scope="col">"Quantity billed"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {move || retrieve_error.get().map(|error| view! { <ErrorPanel error /> })}
            {move || server_error().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|error| view! { <ErrorPanel error /> })}
            <div class="form-actions">
                <span class="muted" role="status">{move || if saved_note.get() && !dirty.get() { "Saved." } else if dirty.get() { "Unsaved changes" } else { "" }}</span>
                <span class="muted small">{initial.updated_at.map(|at| view! { "Last saved " <Time ms=Some(at) /> {initial.updated_by.clone().map(|b| format!(" by {b}"))} })}</span>
                <button type="button" class="btn" data-testid="retrieve-services" disabled=move || retrieving.get() on:click=retrieve>
                    {move || if retrieving.get() { "Retrieving\u{2026}" } else if services.with(Option::is_some) { "Retrieve again" } else { "Retrieve services" }}
                </button>
                {is_admin.then(|| view! {
                    <button type="submit" class="btn btn-primary" disabled=move || save.pending().get() || !dirty.get()>
                        {move || if save.pending().get() { "Saving\u{2026}" } else { "Save billing settings" }}
                    </button>
                })}
            </div>
        </form>
    }
    .into_any()
}
