//! One run on its own page (`/history/ID`): its facts, the records it skipped or failed
//! with why, its CSV, and "Retry failed" for the kinds that allow it.

use super::{counts, duration, outcome_badge};
use crate::api::history::get_run;
use crate::components::badge::{Badge, Tone};
use crate::components::panel::{EmptyState, ErrorPanel, Loading, PageHeader};
use crate::components::time::Time;
use crate::format::{count_of, thousands};
use crate::types::history::RunDetail;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// One run with its lines.
#[component]
pub fn RunDetailPage() -> impl IntoView {
    let me = expect_context::<crate::components::layout::Me>().0;
    let params = use_params_map();
    let run_id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())));
    // Bumped to read the run again (after a retry, and while a retry's job runs).
    let tick = RwSignal::new(0u32);
    // Lives above the run's view, which is drawn again each time the run is read.
    let retry = ServerAction::<crate::api::history::RetryRun>::new();
    let retried = RwSignal::new(false);
    let waiting = Memo::new(move |_| retry.value().with(|v| matches!(v, Some(Ok(r)) if r.job.is_some() || r.requeued.is_some())));
    // While a retry runs in the background (a job, or events back with the dispatcher),
    // read the run again until it names its retry.
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if waiting.get_untracked() && !retried.get_untracked() {
                    tick.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(1500),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    // Another run opened (the retry's link): the retry shown was this page's last run's.
    Effect::new(move |previous: Option<Option<i64>>| {
        let id = run_id.get();
        if previous.is_some_and(|p| p != id) {
            retry.value().set(None);
        }
        id
    });
    // A retried push has ended already: read the run again at once.
    Effect::new(move |_| {
        if retry.value().with(|v| matches!(v, Some(Ok(r)) if r.push.is_some())) {
            tick.update(|n| *n += 1);
        }
    });
    let detail = Resource::new(
        move || (run_id.get(), tick.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_run(id).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <Loading what="the run" /> }>
            {move || Suspend::new(async move {
                let is_admin = me.await.is_ok_and(|m| m.is_admin());
                match detail.await {
                    Err(error) => view! {
                        <PageHeader title="Run" lead="This run could not be shown." />
                        <ErrorPanel error />
                        <p><A href="/history">"Back to the History"</A></p>
                    }.into_any(),
                    Ok(d) => {
                        retried.set(d.retried_by.is_some());
                        view! { <RunView detail=d is_admin retry waiting /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// "Retry failed", and what came of it: the retry's run once it is recorded.
#[component]
fn RetryPanel(detail: RunDetail, is_admin: bool, retry: ServerAction<crate::api::history::RetryRun>, waiting: Memo<bool>) -> impl IntoView {
    let run_id = detail.run.run_id;
    let pending = retry.pending();
    // A sync's retry takes the companies it left alone too (once their cause is fixed).
    let left = detail.run.to_retry();
    let (one, many) =
        if detail.run.kind.retries_skipped() { ("record not synced", "records not synced") } else { ("failed record", "failed records") };
    view! {
        {detail.retried_by.map(|id| view! {
            <p role="status" data-testid="retried-by">"Its failed records were retried by " <A href=format!("/history/{id}")>{format!("run {id}")}</A> "."</p>
        })}
        {(detail.retryable && is_admin).then(|| view! {
            <div class="toolbar">
                <button type="button" class="btn btn-primary" data-testid="retry-failed" disabled=move || pending.get() || waiting.get()
                    on:click=move |_| { retry.dispatch(crate::api::history::RetryRun { run_id }); }>
                    {move || if pending.get() || waiting.get() { "Retrying\u{2026}".to_string() } else { format!("Retry the {}", count_of(left, one, many)) }}
                </button>
                <span class="muted">"Runs again just the records that failed, as a new run linked to this one."</span>
            </div>
            {move || retry.value().get().and_then(Result::err).map(|error| view! { <ErrorPanel error /> })}
        })}
    }
}

#[component]
fn RunView(detail: RunDetail, is_admin: bool, retry: ServerAction<crate::api::history::RetryRun>, waiting: Memo<bool>) -> impl IntoView {
    let retry = view! { <RetryPanel detail=detail.clone() is_admin retry waiting /> };
    let run = detail.run;
    let title = format!("{} \u{b7} run {}", run.kind.label(), run.run_id);
    let csv = format!("/exports/runs/{}.csv", run.run_id);
    let shown = detail.lines.len() as i64;
    let more = (detail.lines_total > shown)
        .then(|| format!("The first {} of {} are shown; the CSV has them all.", thousands(shown), thousands(detail.lines_total)));
    view! {
        <PageHeader title=title lead=run.summary.clone()>
            <A href="/history" attr:class="btn">"Back to the History"</A>
            <a class="btn" href=csv download>"Export CSV"</a>
        </PageHeader>
        <section class="card" aria-label="The run">
            <dl class="facts">
                <dt>"Outcome"</dt><dd data-testid="run-outcome">{outcome_badge(run.outcome)}</dd>
                <dt>"Started by"</dt><dd>{run.started_by.clone()}<span class="muted">{format!(" ({})", run.trigger.label().to_lowercase())}</span></dd>
                <dt>"Started"</dt><dd><Time ms=Some(run.started_at) /></dd>
                <dt>"Took"</dt><dd>{duration(&run)}</dd>
                <dt>"Records"</dt><dd>{counts(&run)}</dd>
                {run.retry_of.map(|id| view! { <dt>"Retry of"</dt><dd><A href=format!("/history/{id}")>{format!("Run {id}")}</A></dd> })}
                {(!run.log_key.is_empty()).then(|| view! {
                    <dt>"Server log"</dt><dd><span class="muted">"Its lines carry "</span><code data-testid="log-key">{run.log_key.clone()}</code></dd>
                })}
            </dl>
            {retry}
            <p><A href=run.kind.page().0>{format!("Open the {} page", run.kind.page().1)}</A></p>
        </section>
        {if detail.lines.is_empty() {
            view! { <EmptyState title="No record was skipped or failed">"Every record this run handled went through."</EmptyState> }.into_any()
        } else {
            view! {
                <h2>{count_of(detail.lines_total, "record skipped or failed", "records skipped or failed")}</h2>
                {more.map(|m| view! { <p class="muted">{m}</p> })}
                <div class="table-wrap table-sticky" tabindex="0" role="region" aria-label="Records skipped or failed">
                    <table class="table" aria-label="Records skipped or failed">
                        <thead><tr><th scope="col">"Outcome"</th><th scope="col">"Customer"</th><th scope="col">"Autotask record"</th><th scope="col">"Reason"</th></tr></thead>
                        <tbody>
                            {detail.lines.into_iter().map(|l| {
                                let failed = l.is_failed();
                                view! {
                                    <tr>
                                        <td>{if failed { view! { <Badge label="Failed" tone=Tone::Bad /> } } else { view! { <Badge label="Skipped" tone=Tone::Muted /> } }}</td>
                                        <td>
                                            {match l.customer_id {
                                                Some(id) => view! { <A href=format!("/history?customer={id}") attr:title="Every run that concerns this customer">{l.customer_name.clone()}</A><span class="muted">{format!(" (ID {id})")}</span> }.into_any(),
                                                None => view! { <span>{l.customer_name.clone()}</span> }.into_any(),
                                            }}
                                        </td>
                                        <td>{l.record}</td>
                                        <td data-testid="line-reason">{l.reason}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
    .into_any()
}
