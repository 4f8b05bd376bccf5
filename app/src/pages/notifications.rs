//! Partner Notifications: the rules that turn backup events into Autotask tickets ("Open
//! an Autotask ticket") or billing pushes ("Synchronize with Autotask"), and "Send test
//! ticket".

mod table;

use crate::components::customer::CustomerId;
use table::RulesTable;

use crate::api::tickets::{customer_choices, delete_rule, list_rules, save_rule, send_test_ticket};
use crate::components::badge::{Badge, Tone};
use crate::components::dialog::ConfirmDialog;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::error::AppError;
use crate::types::tickets::{CustomerChoice, EventType, NotificationRule, RuleAction, RuleInput, TestTicket};
use leptos::prelude::*;

/// Which rule the form edits: none (closed), a new one, or an existing one.
#[derive(Debug, Clone, PartialEq)]
enum Editing {
    Closed,
    New,
    Rule(i64, RuleInput, Vec<String>),
}

/// Rules, the rule form, and the test ticket.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let reload = RwSignal::new(0u32);
    let rules = Resource::new(move || reload.get(), |_| list_rules());
    let editing = RwSignal::new(Editing::Closed);
    let delete_target = RwSignal::new(None::<NotificationRule>);
    let delete_open = RwSignal::new(false);
    let action_error = RwSignal::new(None::<AppError>);
    let do_delete = Callback::new(move |_| {
        if let Some(rule) = delete_target.get_untracked() {
            leptos::task::spawn_local(async move {
                match delete_rule(rule.rule_id).await {
                    Ok(()) => reload.update(|n| *n += 1),
                    Err(e) => action_error.set(Some(e)),
                }
            });
        }
    });
    let header = view! {
        <PageHeader title="Partner notifications" lead="Decide which backup events open Autotask tickets. One ticket per incident (customer + device + event type): repeats become notes, and the recovery completes it.">
            <button type="button" class="btn btn-primary" data-testid="new-rule" on:click=move |_| editing.set(Editing::New) disabled=move || editing.get() != Editing::Closed>"Create a new notification"</button>
        </PageHeader>
        {move || action_error.get().map(|error| view! { <ErrorPanel error /> })}
    }
    .into_any();
    let form = view! {
        <Show when=move || editing.get() != Editing::Closed>
            {move || {
                let (rule_id, input, names) = match editing.get() {
                    Editing::Rule(id, input, names) => (Some(id), input, names),
                    _ => (None, RuleInput::default(), Vec::new()),
                };
                view! { <RuleForm rule_id input names on_done=Callback::new(move |changed: bool| { editing.set(Editing::Closed); if changed { reload.update(|n| *n += 1); } }) /> }
            }}
        </Show>
    }
    .into_any();
    let table = view! {
        <Transition fallback=|| view! { <Loading what="the notifications" /> }>
            {move || Suspend::new(async move {
                let admin = me.await.is_ok_and(|m| m.is_admin());
                match rules.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No notifications yet">
                            "Create one with the action \u{201c}Open an Autotask ticket\u{201d} to turn backup failures into tickets. The defaults (OK events: No, all event types: Yes) suit most partners."
                        </EmptyState>
                    }.into_any(),
                    Ok(list) => view! { <RulesTable list admin editing delete_target delete_open /> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any();
    let dialog = view! {
        <ConfirmDialog
            open=delete_open
            title=Signal::derive(|| "Delete this notification?".to_string())
            body=Signal::derive(move || delete_target.get().map(|r| match r.input.action {
                RuleAction::Sync => "Synchronize with Autotask. Automatic billing pushes stop (Setup\u{2019}s schedule runs only while such a notification exists); what was pushed stays in Autotask, and Billing can still push by hand.".to_string(),
                RuleAction::Ticket => format!("{}. Events it covered will no longer open tickets; tickets already open stay in Autotask.", describe(&r.input, &r.customer_names)),
            }).unwrap_or_default())
            confirm_label="Delete"
            on_confirm=do_delete
        />
    }
    .into_any();
    view! {
        {header}
        {form}
        {table}
        <TestTicketCard />
        {dialog}
    }
    .into_any()
}

fn describe(input: &RuleInput, names: &[String]) -> String {
    let types =
        if input.all_types { "all event types".to_string() } else { input.event_types.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ") };
    let customers = if input.customer_ids.is_empty() { "all customers".to_string() } else { names.join(", ") };
    format!("{} for {types}, {customers}", input.action.label())
}

fn yes_no(id: &'static str, label: &'static str, value: RwSignal<bool>, hint: &'static str) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id on:change=move |ev| value.set(event_target_value(&ev) == "yes") aria-describedby=format!("{id}-hint")>
                <option value="yes" selected=move || value.get()>"Yes"</option>
                <option value="no" selected=move || !value.get()>"No"</option>
            </select>
            <p id=format!("{id}-hint") class="field-hint">{hint}</p>
        </div>
    }
    .into_any()
}

#[component]
fn RuleForm(rule_id: Option<i64>, input: RuleInput, names: Vec<String>, on_done: Callback<bool>) -> impl IntoView {
    let action = RwSignal::new(input.action);
    let me = expect_context::<crate::components::layout::Me>().0;
    let admin = move || me.get().and_then(Result::ok).is_some_and(|m| m.is_admin());
    let subscribe_ok = RwSignal::new(input.subscribe_ok);
    let all_types = RwSignal::new(input.all_types);
    let types = RwSignal::new(input.event_types.clone());
    let complete = RwSignal::new(input.complete_on_recovery);
    let limit = RwSignal::new(!input.customer_ids.is_empty());
    let chosen = RwSignal::new(input.customer_ids.iter().copied().zip(names).collect::<Vec<(i64, String)>>());
    let saving = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let rule = RuleInput {
            action: action.get_untracked(),
            subscribe_ok: subscribe_ok.get_untracked(),
            all_types: all_types.get_untracked(),
            event_types: types.get_untracked(),
            customer_ids: if limit.get_untracked() { chosen.get_untracked().into_iter().map(|c| c.0).collect() } else { Vec::new() },
            complete_on_recovery: complete.get_untracked(),
        };
        if rule.action == RuleAction::Ticket && limit.get_untracked() && rule.customer_ids.is_empty() {
            error.set(Some(AppError::invalid("customer_ids", "Choose at least one customer, or apply the notification to all customers.")));
            return;
        }
        saving.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match save_rule(rule_id, rule).await {
                Ok(_) => on_done.run(true),
                Err(e) => error.set(Some(e)),
            }
            saving.set(false);
        });
    };
    let field_error = move |f: &'static str| error.get().and_then(|e| e.field_message(f));
    let ticket = move || action.get() == RuleAction::Ticket;
    let grid = view! {
            <div class="form-grid">
                <div class="field">
                    <label for="rule-action">"Notification action"</label>
                    <select id="rule-action" on:change=move |ev| action.set(RuleAction::parse(&event_target_value(&ev)).unwrap_or_default())>
                        {[RuleAction::Ticket, RuleAction::Sync].into_iter().map(|a| {
                            let locked = move || a == RuleAction::Sync && !admin();
                            view! { <option value=a.as_str() selected=move || action.get() == a disabled=locked>{a.label()}{move || if locked() { " (admins only)" } else { "" }}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <Show when=ticket fallback=|| view! {
                    <p class="field-hint grow" data-testid="sync-rule-hint">"Switches automatic billing pushes on: Setup\u{2019}s schedule pushes every mapped customer\u{2019}s usage to its Autotask contract. It has no other settings."</p>
                }>
                    {yes_no("rule-ok", "Subscribe to OK events", subscribe_ok, "Yes also opens (informational) tickets for OK events. Recoveries complete open tickets either way.")}
                    {yes_no("rule-all", "Subscribe to all event types", all_types, "No lets you choose the event types below.")}
                    <div class="field">
                        <label for="rule-limit">"Customers"</label>
                        <select id="rule-limit" on:change=move |ev| limit.set(event_target_value(&ev) == "chosen")>
                            <option value="all" selected=move || !limit.get()>"All customers"</option>
                            <option value="chosen" selected=move || limit.get()>"Only chosen customers"</option>
                        </select>
                    </div>
                </Show>
            </div>
    }
    .into_any();
    let types_block = view! {
            <Show when=move || ticket() && !all_types.get()>
                <fieldset class="field" aria-describedby="rule-types-error">
                    <legend>"Event types"</legend>
                    <div class="check-grid">
                        {EventType::failures().map(|ty| {
                            view! {
                                <label class="check">
                                    <input type="checkbox" value=ty.code() prop:checked=move || types.with(|t| t.contains(&ty)) on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        types.update(|t| { t.retain(|x| *x != ty); if on { t.push(ty); } });
                                    } />
                                    {ty.label()}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    <p id="rule-types-error" class="field-error">{move || field_error("event_types")}</p>
                </fieldset>
            </Show>
    }
    .into_any();
    let customers_block = view! {
            <Show when=move || ticket() && limit.get()>
                <CustomerPicker chosen />
                <p class="field-error">{move || field_error("customer_ids")}</p>
            </Show>
    }
    .into_any();
    let complete_block = view! {
            <Show when=move || action.get() == RuleAction::Ticket>
                <div class="field">
                    <label class="check"><input type="checkbox" prop:checked=complete on:change=move |ev| complete.set(event_target_checked(&ev)) />" Complete the ticket when the backup recovers"</label>
                    <p class="field-hint">"With this off, the recovery is added as a note and a technician closes the ticket."</p>
                </div>
            </Show>
    }
    .into_any();
    view! {
        <form class="card form" on:submit=submit novalidate aria-label=if rule_id.is_some() { "Edit notification" } else { "New notification" } data-testid="rule-form">
            <h2>{if rule_id.is_some() { "Edit notification" } else { "New notification" }}</h2>
            {grid}
            {types_block}
            {customers_block}
            {complete_block}
            {move || error.get().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|error| view! { <ErrorPanel error /> })}
            <div class="form-actions">
                <button type="button" class="btn" on:click=move |_| on_done.run(false)>"Cancel"</button>
                <button type="submit" class="btn btn-primary" disabled=move || saving.get()>
                    {move || if saving.get() { "Saving\u{2026}" } else if rule_id.is_some() { "Save" } else { "Create" }}
                </button>
            </div>
        </form>
    }
    .into_any()
}

/// Search customers by name and add them to `chosen`.
#[component]
fn CustomerPicker(chosen: RwSignal<Vec<(i64, String)>>) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let results = Resource::new(move || search.get(), customer_choices);
    view! {
        <div class="field picker">
            <label for="rule-customer-search">"Find customers"</label>
            <input id="rule-customer-search" type="search" placeholder="Customer name" autocomplete="off" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
            <div class="pick-columns">
                <Transition fallback=|| view! { <Loading what="customers" /> }>
                    {move || Suspend::new(async move {
                        match results.await {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="muted">"No customer matches."</p> }.into_any(),
                            Ok(list) => view! {
                                <ul class="pick-list" aria-label="Matching customers">
                                    {list.into_iter().map(|c: CustomerChoice| {
                                        let id = c.customer_id;
                                        let name = c.name.clone();
                                        view! {
                                            <li>
                                                <button type="button" class="btn btn-small" disabled=move || chosen.with(|l| l.iter().any(|x| x.0 == id)) on:click=move |_| chosen.update(|l| l.push((id, name.clone())))>"Add"</button>
                                                " " {c.name.clone()}<CustomerId id />
                                                {(!c.mapped).then(|| view! { " " <Badge label="Not mapped" tone=Tone::Warn reason="Its events are logged as not sent until it is on the Customer Map." /> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        }
                    })}
                </Transition>
                <div>
                    <p class="small muted">{move || format!("Chosen: {}", chosen.with(Vec::len))}</p>
                    <ul class="pick-list" aria-label="Chosen customers">
                        {move || chosen.get().into_iter().map(|(id, name)| view! {
                            <li>
                                <button type="button" class="btn btn-small btn-quiet" aria-label=format!("Remove {name}") on:click=move |_| chosen.update(|l| l.retain(|x| x.0 != id))>"\u{00d7}"</button>
                                " " {name.clone()}<CustomerId id />
                            </li>
                        }).collect_view()}
                    </ul>
                </div>
            </div>
        </div>
    }
    .into_any()
}

/// "Send test ticket": opens, notes and completes a ticket with the current settings.
#[component]
fn TestTicketCard() -> impl IntoView {
    let result = RwSignal::new(None::<Result<TestTicket, AppError>>);
    let sending = RwSignal::new(false);
    // Which mapped customer gets it: searched by name, the first mapped one by default.
    let search = RwSignal::new(String::new());
    let customer = RwSignal::new(None::<i64>);
    let choices = Resource::new(
        move || search.get(),
        |q| async move { customer_choices(q).await.map(|all| all.into_iter().filter(|c| c.mapped).collect::<Vec<CustomerChoice>>()) },
    );
    let send = move |_| {
        sending.set(true);
        result.set(None);
        let to = customer.get_untracked();
        leptos::task::spawn_local(async move {
            result.set(Some(send_test_ticket(to).await));
            sending.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="test-ticket-title">
            <h2 id="test-ticket-title">"Send test ticket"</h2>
            <p class="muted">"Opens a ticket in the chosen customer's Autotask company with the ticket settings from Setup, adds a note and completes it, so you can see the whole round trip in Autotask."</p>
            <div class="toolbar">
                <div class="field">
                    <label for="test-ticket-search">"Find a mapped customer"</label>
                    <input id="test-ticket-search" type="search" autocomplete="off" placeholder="Name" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
                </div>
                <div class="field grow">
                    <label for="test-ticket-customer">"Customer"</label>
                    <Transition fallback=|| view! { <select id="test-ticket-customer" disabled=true><option>"Loading customers\u{2026}"</option></select> }>
                        {move || Suspend::new(async move {
                            let options = choices.await.unwrap_or_default();
                            view! {
                                <select id="test-ticket-customer" on:change=move |ev| customer.set(event_target_value(&ev).parse().ok())>
                                    <option value="" selected=move || customer.get().is_none()>"The first mapped customer"</option>
                                    {options.into_iter().map(|c| {
                                        let id = c.customer_id;
                                        view! { <option value=id.to_string() selected=move || customer.get() == Some(id)>{format!("{} (#{id})", c.name)}</option> }
                                    }).collect_view()}
                                </select>
                            }
                        })}
                    </Transition>
                </div>
            </div>
            <div class="form-actions">
                <button type="button" class="btn" data-testid="send-test-ticket" disabled=move || sending.get() on:click=send>
                    {move || if sending.get() { "Sending\u{2026}" } else { "Send test ticket" }}
                </button>
            </div>
            {move || match result.get() {
                None => None,
                Some(Err(error)) => Some(view! { <ErrorPanel error /> }.into_any()),
                Some(Ok(t)) => Some(view! {
                    <div class=if t.ok { "panel panel-success" } else { "panel panel-error" } role="status" data-testid="test-ticket-result">
                        <strong>{if t.ok { "Test ticket sent" } else { "The test ticket did not go through" }}</strong>
                        <ul>{t.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul>
                        {t.link.clone().map(|href| view! { <a href=href target="_blank" rel="noopener">{format!("Open {} in Autotask", t.ticket_number.clone().unwrap_or_default())}</a> })}
                    </div>
                }.into_any()),
            }}
        </section>
    }
    .into_any()
}
