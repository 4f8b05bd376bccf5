//! The signed-in layout: header (partner, user, Autotask state, sign-out), navigation,
//! and the page. Anonymous visitors are sent to sign-in and brought back afterwards.

use crate::api::auth::{get_current_user, SignOut};
use crate::components::panel::{ErrorPanel, Loading};
use crate::error::AppError;
use crate::format::encode_query_value;
use crate::types::CurrentUser;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

/// Loads the session, then renders the console around the matched page.
#[component]
pub fn SignedInLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_current_user());
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <div class="boot"><Loading what="your session" /></div> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <Console me /> }.into_any(),
                    Err(AppError::Unauthorized) => {
                        let path = location.pathname.get_untracked();
                        let search = location.search.get_untracked();
                        let query = search.trim_start_matches('?');
                        let here = if query.is_empty() { path } else { format!("{path}?{query}") };
                        view! { <Redirect path=format!("/signin?next={}", encode_query_value(&here)) /> }.into_any()
                    }
                    Err(error) => view! { <main class="boot"><ErrorPanel error /></main> }.into_any(),
                }
            })}
        </Suspense>
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
    NavItem { href: "/users", label: "Users", admin_only: true },
    NavItem { href: "/tokens", label: "API tokens", admin_only: true },
];

#[component]
fn Console(me: CurrentUser) -> impl IntoView {
    provide_context(me.clone());
    let sign_out = ServerAction::<SignOut>::new();
    let is_admin = me.is_admin();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="console">
            <header class="topbar">
                <div class="brand">
                    <span class="logo" aria-hidden="true">"TB"</span>
                    <span>"Taskbridge"</span>
                </div>
                <div class="partner" data-testid="partner-name">{me.partner_name.clone()}</div>
                <div class="topbar-right">
                    <span class="connection connection-none" title="Autotask is not connected yet">
                        <span class="dot" aria-hidden="true"></span>
                        "Autotask: not set up"
                    </span>
                    <span class="who">
                        <span class="who-name">{me.name.clone()}</span>
                        <span class="who-meta">{format!("{} \u{b7} {}", me.email, me.role.label())}</span>
                    </span>
                    <ActionForm action=sign_out attr:class="inline-form">
                        <button type="submit" class="btn btn-quiet">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <nav class="sidenav" aria-label="Main">
                <ul>
                    {NAV
                        .iter()
                        .filter(|item| is_admin || !item.admin_only)
                        .map(|item| view! { <li><A href=item.href exact=true>{item.label}</A></li> })
                        .collect_view()}
                </ul>
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
