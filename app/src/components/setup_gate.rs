//! Pages that work on Autotask data (the Customer Map, Billing) open only once Integration
//! Setup is done (seed 002): until Autotask is connected they say what to finish and link
//! to Setup, instead of showing empty tables.

use super::panel::{Loading, PageHeader};
use leptos::prelude::*;

/// Shows its page once the partner's Autotask connection is saved; before that, a short
/// page naming what to finish, with the way to Setup.
#[component]
pub fn SetupGate(
    /// The page's title, kept as the heading either way.
    #[prop(into)]
    title: String,
    /// Why the page needs Autotask, in one sentence.
    #[prop(into)]
    needs: String,
    /// The page.
    children: ChildrenFn,
) -> impl IntoView {
    let connection = Resource::new(|| (), |_| crate::api::connection::get_autotask_connection());
    let (title, needs, children) = (StoredValue::new(title), StoredValue::new(needs), StoredValue::new(children));
    view! {
        <Suspense fallback=move || view! { <Loading what=title.get_value() /> }>
            {move || Suspend::new(async move {
                match connection.await {
                    Ok(c) if !c.configured => view! {
                        <PageHeader title=title.get_value() lead=needs.get_value() />
                        <section class="empty-state setup-gate" data-testid="setup-gate" aria-labelledby="setup-gate-title">
                            <strong id="setup-gate-title">"Finish Integration Setup first"</strong>
                            <p>"Connect Autotask on the Setup page (API username, secret and integration code), test the connection, then discover your companies."</p>
                            <a class="btn btn-primary" href="/setup">"Go to Setup"</a>
                        </section>
                    }.into_any(),
                    // Connected, or the state cannot be read here: the page says the rest.
                    _ => children.with_value(|c| c()).into_any(),
                }
            })}
        </Suspense>
    }
}
