//! The confirm dialog for anything that cannot be undone: says exactly what will happen,
//! focuses the safe choice, closes on Escape. Every dialog keeps focus inside itself while
//! open and gives it back to what opened it.

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
    let dialog_ref = NodeRef::<leptos::html::Div>::new();
    keep_focus_inside(open, dialog_ref);
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
                node_ref=dialog_ref
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
    let dialog_ref = NodeRef::<leptos::html::Div>::new();
    keep_focus_inside(open, dialog_ref);
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
            <div class="modal modal-wide" role="dialog" aria-modal="true" aria-labelledby="modal-title" node_ref=dialog_ref>
                <div class="modal-head">
                    <h2 id="modal-title">{move || title.get()}</h2>
                    <button type="button" class="btn btn-quiet btn-small" aria-label="Close" on:click=move |_| open.set(false)>"\u{2715}"</button>
                </div>
                <div node_ref=body_ref>{move || children.with_value(|c| c())}</div>
            </div>
        </Show>
    }
}

/// While `open`: Tab and Shift+Tab cycle through the dialog's controls (focus that strayed
/// outside, e.g. after a click on the backdrop, comes back in), and Escape closes it
/// wherever focus is. Closing gives focus back to the control that opened the dialog.
fn keep_focus_inside(open: RwSignal<bool>, dialog: NodeRef<leptos::html::Div>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use web_sys::HtmlElement;
        let opener = StoredValue::new_local(None::<HtmlElement>);
        Effect::new(move |was_open: Option<bool>| {
            let is_open = open.get();
            if is_open && was_open != Some(true) {
                opener.set_value(document().active_element().and_then(|e| e.dyn_into().ok()));
            } else if !is_open && was_open == Some(true) {
                if let Some(el) = opener.get_value() {
                    let _ = el.focus();
                }
            }
            is_open
        });
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if !open.get_untracked() {
                return;
            }
            match ev.key().as_str() {
                "Escape" => {
                    ev.prevent_default();
                    open.set(false);
                }
                "Tab" => {
                    let Some(dialog) = dialog.get_untracked() else { return };
                    let Ok(list) = dialog.query_selector_all(FOCUSABLE) else { return };
                    let items: Vec<HtmlElement> = (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into().ok()).collect();
                    let (Some(first), Some(last)) = (items.first(), items.last()) else { return };
                    let active = document().active_element();
                    let is = |e: &HtmlElement| active.as_ref().is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>());
                    let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a.unchecked_ref())));
                    let next = match (inside, ev.shift_key()) {
                        (false, false) => Some(first),
                        (false, true) => Some(last),
                        (true, true) if is(first) => Some(last),
                        (true, false) if is(last) => Some(first),
                        _ => None,
                    };
                    if let Some(next) = next {
                        ev.prevent_default();
                        let _ = next.focus();
                    }
                }
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (open, dialog);
}

/// What Tab can reach inside a dialog.
#[cfg(feature = "hydrate")]
const FOCUSABLE: &str =
    "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
