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
    /// The action adds or writes rather than destroys (an import, a push): its button is
    /// the primary one, not the red of a deletion.
    #[prop(optional)]
    constructive: bool,
    /// More about what will happen, below the body (e.g. counts worked out on opening).
    #[prop(optional)]
    children: Option<ChildrenFn>,
) -> impl IntoView {
    let confirm_label = StoredValue::new(confirm_label);
    let children = StoredValue::new(children);
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
                {move || children.with_value(|c| c.as_ref().map(|c| c()))}
                <div class="modal-actions">
                    <button type="button" class="btn" node_ref=cancel_ref on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                    <button
                        type="button"
                        class=if constructive { "btn btn-primary" } else { "btn btn-danger" }
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

/// A modal dialog around any content: labelled by its title, closes on Escape or the
/// backdrop, and focuses its first field (or button) when it opens.
#[component]
pub fn Modal(
    /// Shown while true.
    open: RwSignal<bool>,
    /// Heading.
    #[prop(into)]
    title: Signal<String>,
    /// Body.
    children: ChildrenFn,
) -> impl IntoView {
    let body_ref = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if open.get() {
            #[cfg(feature = "hydrate")]
            if let Some(body) = body_ref.get() {
                use wasm_bindgen::JsCast;
                if let Ok(Some(first)) = body.query_selector("input, select, button") {
                    if let Ok(el) = first.dyn_into::<web_sys::HtmlElement>() {
                        let _ = el.focus();
                    }
                }
            }
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div class="modal-backdrop" on:click=move |_| open.set(false)></div>
            <div class="modal modal-wide" role="dialog" aria-modal="true" aria-labelledby="modal-title"
                on:keydown=move |ev| { if ev.key() == "Escape" { open.set(false); } }>
                <div class="modal-head">
                    <h2 id="modal-title">{move || title.get()}</h2>
                    <button type="button" class="btn btn-quiet btn-small" aria-label="Close" on:click=move |_| open.set(false)>"\u{2715}"</button>
                </div>
                <div node_ref=body_ref>{move || children.with_value(|c| c())}</div>
            </div>
        </Show>
    }
}
