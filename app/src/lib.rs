//! Taskbridge's user interface: the HTML shell, the router, pages, components, wire types
//! and server functions. Compiled twice: with `ssr` into the server, with `hydrate` into wasm.
// Leptos view types nest deeply; a clean (non-incremental) build of the larger pages
// exceeds the default query depth of 128.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod format;
pub mod pages;
pub mod regions;
pub mod types;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod services;

use components::setup_gate::SetupGate;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered by the server. Its Content-Security-Policy
/// allows scripts only from this site and the inline ones Leptos writes for hydration and
/// streaming, which carry this response's nonce.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        if let Ok(value) = http::HeaderValue::from_str(&policy) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: routes and page chrome.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the document once the wasm has taken over, so browser tests can tell a
    // server-rendered page from a live one.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/taskbridge.css" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Title formatter=|text: String| if text.is_empty() { "Taskbridge".to_string() } else { format!("{text} · Taskbridge") } />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/signin") view=pages::signin::SignInPage />
                <ParentRoute path=path!("") view=components::layout::SignedInLayout>
                    <Route path=path!("") view=pages::overview::OverviewPage />
                    <Route path=path!("setup") view=pages::setup::SetupPage />
                    <Route path=path!("companies") view=pages::companies::CompaniesPage />
                    <Route path=path!("contacts") view=pages::contacts::ContactsPage />
                    <Route path=path!("backup-users") view=pages::backup_users::BackupUsersPage />
                    <Route path=path!("storage") view=pages::storage::StoragePage />
                    <Route path=path!("map") view=|| view! {
                        <SetupGate title="Customer Map" needs="The Customer Map pairs your Taskbridge customers with their Autotask companies, so it needs your Autotask connection.">
                            <pages::map::CustomerMapPage />
                        </SetupGate>
                    } />
                    <Route path=path!("clients") view=pages::clients::ClientsPage />
                    <Route path=path!("notifications") view=pages::notifications::NotificationsPage />
                    <Route path=path!("events") view=pages::events::EventLogPage />
                    <Route path=path!("history") view=pages::history::HistoryPage />
                    <Route path=path!("history/changes") view=pages::history::ChangesPage />
                    <Route path=path!("history/usage") view=pages::history::ApiUsagePage />
                    <Route path=path!("history/customer/:id") view=pages::history::CustomerTimelinePage />
                    <Route path=path!("history/:id") view=pages::history::RunDetailPage />
                    <Route path=path!("billing") view=|| view! {
                        <SetupGate title="Billing" needs="Billing writes your customers' backup usage to their Autotask contracts, so it needs your Autotask connection.">
                            <pages::billing::BillingPage />
                        </SetupGate>
                    } />
                    <Route path=path!("users") view=pages::users::UsersPage />
                    <Route path=path!("tokens") view=pages::tokens::TokensPage />
                    <Route path=path!("account") view=pages::account::AccountPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
