//! One status badge for every status in the product, with words (never colour alone)
//! and, for failures, a reason reachable by keyboard and screen readers.

use leptos::prelude::*;

/// The colour family of a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Healthy / done.
    Good,
    /// Needs attention.
    Warn,
    /// Failed.
    Bad,
    /// Neutral / inactive.
    Muted,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "badge badge-good",
            Tone::Warn => "badge badge-warn",
            Tone::Bad => "badge badge-bad",
            Tone::Muted => "badge badge-muted",
        }
    }
}

/// A status word in a coloured pill; `reason` becomes a focusable tooltip.
#[component]
pub fn Badge(
    /// The word shown.
    #[prop(into)]
    label: String,
    /// Colour family.
    tone: Tone,
    /// Why (shown on hover and focus, read by screen readers).
    #[prop(optional, into)]
    reason: Option<String>,
) -> impl IntoView {
    match reason {
        Some(reason) => {
            let aria = format!("{label}: {reason}");
            let title = reason.clone();
            view! {
            <span class=tone.class() tabindex="0" title=title aria-label=aria>
                {label}
                <span class="badge-reason" role="tooltip">{reason}</span>
            </span>
            }
            .into_any()
        }
        None => view! { <span class=tone.class()>{label}</span> }.into_any(),
    }
}
