//! The signed-in layout: header (partner, user, Autotask state, sign-out), navigation,
//! and the page. Anonymous visitors are sent to sign-in and brought back afterwards.

use crate::api::auth::{get_current_user, SignOut};
use crate::error::AppError;
use crate::format::encode_query_value;
use crate::types::CurrentUser;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

/// The signed-in user, loaded once per layout; pages await it (never block the layout on
/// it: the `<Outlet/>` must not sit inside a `Suspend`, or hydration breaks).
#[derive(Debug, Clone, Copy)]
pub struct Me(pub Resource<Result<CurrentUser, AppError>>);

/// Renders the console around the matched page; the parts that depend on the user load
/// in place. Anonymous visitors are sent to sign-in.
#[component]
pub fn SignedInLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_current_user());
    provide_context(Me(me));
    provide_context(ConnectionChanged(RwSignal::new(0)));
    let location = use_location();
    let sign_out = ServerAction::<SignOut>::new();
    // On a narrow screen the navigation is a menu: closed by Escape or a choice in it.
    let menu_open = RwSignal::new(false);
    let menu_button = NodeRef::<leptos::html::Button>::new();
    let nav_ref = NodeRef::<leptos::html::Nav>::new();
    let toggle_menu = move |_| {
        let open = !menu_open.get_untracked();
        menu_open.set(open);
        if open {
            request_animation_frame(move || focus_first_link(nav_ref));
        }
    };
    let close_on_escape = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && menu_open.get_untracked() {
            menu_open.set(false);
            if let Some(button) = menu_button.get_untracked() {
                let _ = button.focus();
            }
        }
    };
    view! {
        <a class="skip-link" href="#main" on:click=skip_to_content>"Skip to content"</a>
        <div class="console">
            <header class="topbar">
                <button type="button" class="btn btn-quiet nav-toggle" node_ref=menu_button aria-controls="sidenav"
                    aria-expanded=move || if menu_open.get() { "true" } else { "false" } on:click=toggle_menu>
                    <span class="nav-toggle-icon" aria-hidden="true">"\u{2630}"</span>
                    "Menu"
                </button>
                <div class="brand">
                    <span class="logo" aria-hidden="true">"TB"</span>
                    <span>"Taskbridge"</span>
                </div>
                <Transition fallback=|| view! { <div class="partner">"\u{2026}"</div> }>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(me) => view! { <div class="partner" data-testid="partner-name">{me.partner_name.clone()}</div> }.into_any(),
                            Err(AppError::Unauthorized) => {
                                let path = location.pathname.get_untracked();
                                let search = location.search.get_untracked();
                                let query = search.trim_start_matches('?');
                                let here = if query.is_empty() { path } else { format!("{path}?{query}") };
                                view! { <Redirect path=format!("/signin?next={}", encode_query_value(&here)) /> }.into_any()
                            }
                            Err(error) => view! { <div class="partner" role="alert">{error.to_string()}</div> }.into_any(),
                        }
                    })}
                </Transition>
                <div class="topbar-right">
                    <ConnectionState />
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            me.await.ok().map(|me| view! {
                                <A href="/account" attr:class="who" attr:title="Your account: change your password">
                                    <span class="who-name">{me.name.clone()}</span>
                                    <span class="who-meta">{format!("{} \u{b7} {}", me.email, me.role.label())}</span>
                                </A>
                            })
                        })}
                    </Transition>
                    <ActionForm action=sign_out attr:class="inline-form">
                        <button type="submit" class="btn btn-quiet">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <nav id="sidenav" class="sidenav" class:nav-open=move || menu_open.get() aria-label="Main" node_ref=nav_ref on:keydown=close_on_escape
                on:click=move |_| menu_open.set(false)>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let is_admin = me.await.map(|m| m.is_admin()).unwrap_or(false);
                        view! {
                            <ul>
                                {NAV
                                    .iter()
                                    .filter(|item| is_admin || !item.admin_only)
                                    .map(|item| view! { <li><A href=item.href exact=item.href == "/">{item.label}</A></li> })
                                    .collect_view()}
                            </ul>
                        }
                    })}
                </Transition>
            </nav>
            <main id="main" class="content" tabindex="-1">
                <ErrorBoundary fallback=|errors| {
                    view! {
                        <div class="panel panel-error" role="alert">
                            <strong>"This page could not be shown"</strong>
                            <ul>
                                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
                            </ul>
                        </div>
                    }
                }>
                    <Outlet />
                </ErrorBoundary>
            </main>
        </div>
    }
}

/// A navigation entry; only pages that work are listed.
struct NavItem {
    href: &'static str,
    label: &'static str,
    admin_only: bool,
}

const NAV: &[NavItem] = &[
    NavItem { href: "/", label: "Overview", admin_only: false },
    NavItem { href: "/setup", label: "Setup", admin_only: false },
    NavItem { href: "/companies", label: "Companies", admin_only: false },
    NavItem { href: "/contacts", label: "Contacts", admin_only: false },
    NavItem { href: "/backup-users", label: "Backup users", admin_only: false },
    NavItem { href: "/storage", label: "Storage accounts", admin_only: false },
    NavItem { href: "/map", label: "Customer Map", admin_only: false },
    NavItem { href: "/clients", label: "Clients", admin_only: false },
    NavItem { href: "/notifications", label: "Notifications", admin_only: false },
    NavItem { href: "/events", label: "Event log", admin_only: false },
    NavItem { href: "/billing", label: "Billing", admin_only: false },
    NavItem { href: "/history", label: "History", admin_only: false },
    NavItem { href: "/users", label: "Users", admin_only: true },
    NavItem { href: "/tokens", label: "API tokens", admin_only: true },
];

/// Bumped by pages that change the Autotask connection, so the header refreshes.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionChanged(pub RwSignal<u32>);

/// The Autotask connection state, always visible in the header; links to Setup.
#[component]
fn ConnectionState() -> impl IntoView {
    let changed = use_context::<ConnectionChanged>().map(|c| c.0);
    let state = Resource::new(move || changed.map(|c| c.get()), |_| crate::api::connection::get_autotask_connection());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let (class, text, title) = match state.await {
                    Ok(c) if !c.configured => ("connection connection-none", "Autotask: not set up".to_string(), "Connect Autotask on the Setup page".to_string()),
                    Ok(c) => match c.last_test {
                        Some(t) if t.ok => ("connection connection-ok", "Autotask: connected".to_string(), t.message),
                        Some(t) => ("connection connection-error", format!("Autotask: error ({})", t.cause.unwrap_or_default().replace('_', " ")), t.message),
                        None => ("connection connection-none", "Autotask: not tested".to_string(), "Test the connection on the Setup page".to_string()),
                    },
                    Err(_) => ("connection connection-none", "Autotask: unknown".to_string(), String::new()),
                };
                view! {
                    <A href="/setup" attr:class=class attr:title=title attr:data-testid="connection-state">
                        <span class="dot" aria-hidden="true"></span>
                        {text}
                    </A>
                }
            })}
        </Transition>
    }
}

/// Moves focus into the main content (the router would only scroll to it, leaving the
/// next Tab on the header's first link).
fn skip_to_content(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let main = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("main"));
        if let Some(main) = main.and_then(|m| m.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = main.focus();
        }
    }
}

/// Moves focus to the navigation's first link once the opened menu shows it.
fn focus_first_link(nav: NodeRef<leptos::html::Nav>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let first = nav.get_untracked().and_then(|n| n.query_selector("a").ok().flatten());
        if let Some(link) = first.and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = link.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = nav;
}
