//! The 404 page.

use leptos::prelude::*;
use leptos_router::components::A;

/// Shown for any URL no route matches; answers HTTP 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Page not found" />
        <main class="standalone">
            <div class="card narrow">
                <h1>"Page not found"</h1>
                <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
                <A href="/" attr:class="btn btn-primary">"Go to the overview"</A>
            </div>
        </main>
    }
}
