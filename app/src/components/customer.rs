//! How a Taskbridge customer is shown wherever it appears: its name leading to its
//! timeline, and its ID beside it, so two customers of one name can be told apart.

use leptos::prelude::*;

/// The customer's name, linking to its timeline in the History.
#[component]
pub fn CustomerLink(
    /// Taskbridge customer ID.
    id: i64,
    /// Its name.
    #[prop(into)]
    name: String,
) -> impl IntoView {
    view! { <a href=format!("/history/customer/{id}") class="name-link" title="Open this customer's timeline">{name}</a> }
}

/// The customer's ID as shown beside its name ("#42"), after a space.
#[component]
pub fn CustomerId(
    /// Taskbridge customer ID.
    id: i64,
) -> impl IntoView {
    view! { " "<span class="mono muted" title="Taskbridge customer ID">{format!("#{id}")}</span> }
}
