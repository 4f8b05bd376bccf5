//! The home page: where the partner stands and what happened lately.

use crate::api::overview::get_overview;
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::types::CurrentUser;
use leptos::prelude::*;
use leptos_router::components::A;

/// Counts, the Autotask connection state and recent history.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let me = use_context::<CurrentUser>();
    let is_admin = me.as_ref().is_some_and(CurrentUser::is_admin);
    let overview = Resource::new(|| (), |_| get_overview());
    view! {
        <PageHeader title="Overview" lead="Your Taskbridge account at a glance." />
        <Suspense fallback=|| view! { <Loading what="the overview" /> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(o) => view! {
                        <section class="cards" aria-label="Summary">
                            <div class="card stat">
                                <span class="stat-label">"Autotask connection"</span>
                                <span class="stat-value stat-text">"Not set up"</span>
                                <span class="stat-note">"No Autotask database is connected to this account yet."</span>
                            </div>
                            <div class="card stat">
                                <span class="stat-label">"Active users"</span>
                                <span class="stat-value" data-testid="active-users">{o.active_users}</span>
                                {is_admin.then(|| view! { <A href="/users" attr:class="stat-link">"Manage users"</A> })}
                            </div>
                            <div class="card stat">
                                <span class="stat-label">"Active API tokens"</span>
                                <span class="stat-value">{o.active_tokens}</span>
                                {is_admin.then(|| view! { <A href="/tokens" attr:class="stat-link">"Manage API tokens"</A> })}
                            </div>
                        </section>
                        <section class="card">
                            <h2>"Recent activity"</h2>
                            {if o.recent.is_empty() {
                                view! { <EmptyState title="Nothing has happened yet">"Changes to users and API tokens will be listed here."</EmptyState> }.into_any()
                            } else {
                                view! {
                                    <table class="table">
                                        <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th></tr></thead>
                                        <tbody>
                                            {o.recent.into_iter().map(|e| view! {
                                                <tr><td class="nowrap"><Time ms=e.at /></td><td>{e.actor}</td><td>{e.summary}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
