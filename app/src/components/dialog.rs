//! The confirm dialog for anything that cannot be undone: says exactly what will happen,
//! focuses the safe choice, closes on Escape.

use leptos::prelude::*;

/// A modal asking to confirm one action.
#[component]
pub fn ConfirmDialog(
    /// Whether it is shown.
    open: RwSignal<bool>,
    /// Headline, e.g. "Revoke token “EU platform”?".
    #[prop(into)]
    title: Signal<String>,
    /// Exactly what will happen.
    #[prop(into)]
    body: Signal<String>,
    /// The confirming button's words, e.g. "Revoke token".
    #[prop(into)]
    confirm_label: String,
    /// Called when confirmed.
    on_confirm: Callback<()>,
) -> impl IntoView {
    let confirm_label = StoredValue::new(confirm_label);
    let cancel_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if open.get() {
            if let Some(button) = cancel_ref.get() {
                let _ = button.focus();
            }
        }
    });
    view! {
        <Show when=move || open.get()>
            <div class="modal-backdrop" on:click=move |_| open.set(false)></div>
            <div
                class="modal"
                role="alertdialog"
                aria-modal="true"
                aria-labelledby="confirm-title"
                aria-describedby="confirm-body"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        open.set(false);
                    }
                }
            >
                <h2 id="confirm-title">{move || title.get()}</h2>
                <p id="confirm-body">{move || body.get()}</p>
                <div class="modal-actions">
                    <button type="button" class="btn" node_ref=cancel_ref on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                    <button
                        type="button"
                        class="btn btn-danger"
                        on:click=move |_| {
                            open.set(false);
                            on_confirm.run(());
                        }
                    >
                        {move || confirm_label.get_value()}
                    </button>
                </div>
            </div>
        </Show>
    }
}
