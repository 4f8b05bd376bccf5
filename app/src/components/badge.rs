//! One status badge for every status in the product, with words (never colour alone)
//! and, for failures, the reason beside it.

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

/// A status word in a coloured pill; `reason` is shown under it, in the page's flow: read
/// without hovering, never clipped by a table's box, and read by screen readers in turn.
#[component]
pub fn Badge(
    /// The word shown.
    #[prop(into)]
    label: String,
    /// Colour family.
    tone: Tone,
    /// Why (shown under the word).
    #[prop(optional, into)]
    reason: Option<String>,
) -> impl IntoView {
    match reason {
        Some(reason) => view! {
            <span class="badge-block">
                <span class=tone.class()>{label}</span>
                <span class="badge-reason">{reason}</span>
            </span>
        }
        .into_any(),
        None => view! { <span class=tone.class()>{label}</span> }.into_any(),
    }
}
