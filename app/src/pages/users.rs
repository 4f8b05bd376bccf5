//! The Users page (admins): add users, change roles, disable and re-enable.

use crate::api::users::{list_users, CreateUser, SetUserDisabled, SetUserRole};
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::error::AppError;
use crate::types::{parse_email, parse_name, parse_password, Role, UserSummary};
use leptos::prelude::*;

/// Lists the partner's users; technicians see a refusal instead.
#[component]
pub fn UsersPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let users = Resource::new(move || (create.version().get(), set_role.version().get(), set_disabled.version().get()), |_| list_users());
    let show_form = RwSignal::new(false);
    let row_error = move || [set_role.value().get(), set_disabled.value().get()].into_iter().flatten().find_map(Result::err);
    view! {
        <PageHeader title="Users" lead="People who can sign in to this Taskbridge account, and what they may do.">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let user = me.await.ok().filter(|m| m.is_admin());
                    user.map(|_| {
                        view! {
                            <button type="button" class="btn btn-primary" on:click=move |_| show_form.update(|s| *s = !*s) aria-expanded=move || show_form.get().to_string() aria-controls="add-user">
                                "Add user"
                            </button>
                        }
                    })
                })}
            </Transition>
        </PageHeader>
        <Show when=move || show_form.get()>
            <AddUserForm create on_done=Callback::new(move |_| show_form.set(false)) />
        </Show>
        {move || row_error().map(|error| view! { <ErrorPanel error /> })}
        <Transition fallback=|| view! { <Loading what="users" /> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(list) => {
                        let my_id = me.await.map(|m| m.user_id).unwrap_or_default();
                        view! { <UserTable list my_id set_role set_disabled /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn UserTable(list: Vec<UserSummary>, my_id: i64, set_role: ServerAction<SetUserRole>, set_disabled: ServerAction<SetUserDisabled>) -> impl IntoView {
    let count = list.len();
    view! {
        // Focusable, so a keyboard can scroll it on a narrow screen when no row has a control.
        <div class="table-wrap" tabindex="0" role="region" aria-label="Users">
            <table class="table" aria-describedby="users-count">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Last sign-in"</th>
                        <th scope="col">"Added"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|u| {
                        let is_me = u.user_id == my_id;
                        let id = u.user_id;
                        let role_select = if is_me {
                            view! { <span>{u.role.label()}" (you)"</span> }.into_any()
                        } else {
                            view! {
                                <select
                                    aria-label=format!("Role of {}", u.email)
                                    on:change=move |ev| {
                                        set_role.dispatch(SetUserRole { user_id: id, role: event_target_value(&ev) });
                                    }
                                >
                                    {[Role::Admin, Role::Technician].into_iter().map(|r| view! {
                                        <option value=r.as_str() selected=r == u.role>{r.label()}</option>
                                    }).collect_view()}
                                </select>
                            }.into_any()
                        };
                        let disabled = u.disabled;
                        view! {
                            <tr data-email=u.email.clone()>
                                <td>{u.name.clone()}</td>
                                <td>{u.email.clone()}</td>
                                <td>{role_select}</td>
                                <td>{if disabled { view! { <Badge label="Disabled" tone=Tone::Muted /> } } else { view! { <Badge label="Active" tone=Tone::Good /> } }}</td>
                                <td class="nowrap"><Time ms=u.last_sign_in_at /></td>
                                <td class="nowrap"><Time ms=Some(u.created_at) /></td>
                                <td class="actions">
                                    {(!is_me).then(|| view! {
                                        <button
                                            type="button"
                                            class="btn btn-small"
                                            aria-label=format!("{} {}", if disabled { "Enable" } else { "Disable" }, u.email)
                                            on:click=move |_| { set_disabled.dispatch(SetUserDisabled { user_id: id, disabled: !disabled }); }
                                        >
                                            {if disabled { "Enable" } else { "Disable" }}
                                        </button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="table-count" id="users-count">{format!("{count} user{}", if count == 1 { "" } else { "s" })}</p>
        </div>
    }
}

#[component]
fn AddUserForm(create: ServerAction<CreateUser>, on_done: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("technician".to_string());
    let password = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let server_error = RwSignal::new(None::<AppError>);
    let pending = create.pending();
    let check = move |field: &'static str| -> Option<String> {
        if let Some(msg) = server_error.get().and_then(|e| e.field_message(field)) {
            return Some(msg);
        }
        if !touched.get() {
            return None;
        }
        match field {
            "name" => parse_name(&name.get()).err(),
            "email" => parse_email(&email.get()).err(),
            "password" => parse_password(&password.get()).err(),
            _ => None,
        }
        .map(|e| e.to_string())
    };
    Effect::new(move |_| match create.value().get() {
        Some(Ok(_)) => {
            name.set(String::new());
            email.set(String::new());
            password.set(String::new());
            touched.set(false);
            server_error.set(None);
            on_done.run(());
        }
        Some(Err(e)) => server_error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        server_error.set(None);
        if ["name", "email", "password"].iter().any(|f| check(f).is_some()) {
            return;
        }
        create.dispatch(CreateUser { email: email.get(), name: name.get(), role: role.get(), password: password.get() });
    };
    let general = move || server_error.get().filter(|e| !matches!(e, AppError::Invalid { .. }));
    view! {
        <form id="add-user" class="card form form-grid" on:submit=submit novalidate aria-label="Add user">
            <h2 class="form-title">"Add user"</h2>
            <div class="field">
                <label for="new-name">"Name"</label>
                <input id="new-name" type="text" autocomplete="off" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) aria-invalid=move || check("name").is_some().to_string() aria-describedby="new-name-error" />
                <p id="new-name-error" class="field-error">{move || check("name")}</p>
            </div>
            <div class="field">
                <label for="new-email">"Email"</label>
                <input id="new-email" type="email" autocomplete="off" prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) aria-invalid=move || check("email").is_some().to_string() aria-describedby="new-email-error" />
                <p id="new-email-error" class="field-error">{move || check("email")}</p>
            </div>
            <div class="field">
                <label for="new-role">"Role"</label>
                <select id="new-role" on:change=move |ev| role.set(event_target_value(&ev)) prop:value=role>
                    <option value="technician">"Technician \u{2014} notifications and events"</option>
                    <option value="admin">"Admin \u{2014} everything"</option>
                </select>
            </div>
            <div class="field">
                <label for="new-password">"Initial password"</label>
                <input id="new-password" type="password" autocomplete="new-password" prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) aria-invalid=move || check("password").is_some().to_string() aria-describedby="new-password-error" />
                <p class="field-hint">{format!("At least {} characters. Share it with the user privately.", crate::types::MIN_PASSWORD_LEN)}</p>
                <p id="new-password-error" class="field-error">{move || check("password")}</p>
            </div>
            <div class="form-actions">
                {move || general().map(|e| view! { <p class="form-alert" role="alert">{e.to_string()}</p> })}
                <button type="button" class="btn" on:click=move |_| on_done.run(())>"Cancel"</button>
                <button type="submit" class="btn btn-primary" disabled=move || pending.get()>
                    {move || if pending.get() { "Adding\u{2026}" } else { "Add user" }}
                </button>
            </div>
        </form>
    }
}
