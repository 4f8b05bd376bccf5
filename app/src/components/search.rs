//! The search box of a server-filtered list: what is typed is applied after a short pause
//! (or at once on Enter, by the form), and the box follows the URL when the search
//! changes elsewhere (back button, "clear the filters").

use leptos::prelude::*;

/// The typed text and the box's `input` handler. `current` is the search in the URL;
/// `apply` puts a new one there.
pub fn use_search(current: Memo<String>, apply: Callback<String>) -> (RwSignal<String>, impl Fn(leptos::ev::Event) + Copy + 'static) {
    let search = RwSignal::new(current.get_untracked());
    Effect::new(move |_| {
        let s = current.get();
        if s.trim() != search.get_untracked().trim() {
            search.set(s);
        }
    });
    let typed = RwSignal::new(0u32);
    let on_input = move |ev: leptos::ev::Event| {
        search.set(event_target_value(&ev));
        typed.update(|n| *n += 1);
        #[cfg(feature = "hydrate")]
        {
            let mine = typed.get_untracked();
            set_timeout(
                move || {
                    if typed.get_untracked() == mine {
                        let text = search.get_untracked();
                        if text.trim() != current.get_untracked().trim() {
                            apply.run(text);
                        }
                    }
                },
                std::time::Duration::from_millis(300),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = apply;
    };
    (search, on_input)
}
