//! Forms that reload what they show after a save: only after a save that succeeded, so a
//! refused one keeps what was typed and shows why (reloading on every attempt rebuilt the
//! form from the old values, and the next Save stored those).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// A counter bumped after each save of `action` that succeeded; key a form's resource on it.
pub fn saves<S>(action: ServerAction<S>) -> RwSignal<u32>
where
    S: ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            saved.update(|n| *n += 1);
        }
    });
    saved
}
