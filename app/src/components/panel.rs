//! Page header, error and empty-state panels.

use crate::error::AppError;
use leptos::prelude::*;

/// Title, one sentence on what the page is for, and the primary action on the right.
#[component]
pub fn PageHeader(
    /// Page title.
    #[prop(into)]
    title: String,
    /// What the page is for.
    #[prop(into)]
    lead: String,
    /// Primary action(s).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title.clone() />
        <header class="page-header">
            <div>
                <h1>{title}</h1>
                <p class="lead">{lead}</p>
            </div>
            <div class="page-actions">{children.map(|c| c())}</div>
        </header>
    }
}

/// A readable error, announced to screen readers.
#[component]
pub fn ErrorPanel(
    /// What went wrong.
    error: AppError,
) -> impl IntoView {
    let title = match &error {
        AppError::Forbidden | AppError::CrossSite => "Not allowed",
        AppError::NotFound => "Not found",
        AppError::Unauthorized => "Signed out",
        AppError::Transport(_) => "Connection problem",
        // The message says what to do first (e.g. switch something on in Setup).
        AppError::Invalid { .. } => "Check this first",
        AppError::Conflict(_) => "Not now",
        AppError::TooManyAttempts(_) => "Too many attempts",
        AppError::Internal => "Something went wrong",
    };
    view! {
        <div class="panel panel-error" role="alert">
            <strong>{title}</strong>
            <p>{error.to_string()}</p>
        </div>
    }
}

/// What to do when a list is empty.
#[component]
pub fn EmptyState(
    /// Headline.
    #[prop(into)]
    title: String,
    /// Next step.
    children: Children,
) -> impl IntoView {
    view! {
        <div class="empty-state">
            <strong>{title}</strong>
            <div>{children()}</div>
        </div>
    }
}

/// Skeleton line shown while data loads.
#[component]
pub fn Loading(
    /// What is loading, for screen readers.
    #[prop(into)]
    what: String,
) -> impl IntoView {
    view! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            {format!("Loading {what}\u{2026}")}
        </div>
    }
}
