//! Live progress of a background job (discover, import, push): polls the server while
//! the job runs, says what it is doing and how far it is, and reports how it ended.
//! The page can be left and revisited: the job runs on the server either way.

use crate::format::thousands;
use crate::types::companies::{JobState, JobView};
use leptos::prelude::*;

/// How often a running job is polled.
#[cfg(feature = "hydrate")]
const POLL_MS: u64 = 600;

/// Shows `job` and keeps it current; `on_finish` runs once when a job seen running ends.
#[component]
pub fn JobProgress(
    /// The job to follow (None: nothing to show).
    job: RwSignal<Option<JobView>>,
    /// Called when the job stops running.
    on_finish: Callback<JobView>,
) -> impl IntoView {
    // Poll while running: each answer updates `job`, which schedules the next poll.
    Effect::new(move |_| {
        let Some(current) = job.get() else { return };
        if current.state != JobState::Running {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let id = current.job_id;
            set_timeout(
                move || {
                    leptos::task::spawn_local(async move {
                        if let Ok(next) = crate::api::companies::get_job(id).await {
                            let finished = next.state != JobState::Running;
                            job.set(Some(next.clone()));
                            if finished {
                                on_finish.run(next);
                            }
                        } else {
                            // Keep polling through a blip (the job goes on on the server).
                            job.update(|_| {});
                        }
                    });
                },
                std::time::Duration::from_millis(POLL_MS),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (current, on_finish);
    });
    move || {
        job.get().map(|j| {
            let title = format!("{} \u{2014} {}", j.kind.label(), match j.state {
                JobState::Running => if j.stage.is_empty() { "running".to_string() } else { j.stage.to_lowercase() },
                JobState::Done => "finished".to_string(),
                JobState::Failed => "stopped".to_string(),
            });
            let counts = if j.total > 0 { format!("{} of {}", thousands(j.done), thousands(j.total)) } else if j.done > 0 { thousands(j.done) } else { String::new() };
            let failures = (j.failed > 0).then(|| format!("{} failed so far", thousands(j.failed)));
            let class = match j.state {
                JobState::Running => "panel job",
                JobState::Done if j.failed > 0 => "panel panel-warn job",
                JobState::Done => "panel panel-success job",
                JobState::Failed => "panel panel-error job",
            };
            let running = j.state == JobState::Running;
            let (max, value) = (j.total.max(1), j.done.min(j.total.max(1)));
            view! {
                <div class=class role="status" aria-live="polite" data-testid=format!("job-{}", j.kind.as_str()) data-state=j.state.as_str()>
                    <div class="job-head">
                        <strong>{title}</strong>
                        {running.then(|| view! { <span class="spinner" aria-hidden="true"></span> })}
                        <span class="muted">{counts}</span>
                        {running.then_some(failures.clone()).flatten().map(|f| view! { <span class="job-failures">{f}</span> })}
                    </div>
                    {running.then(|| if j.total > 0 {
                        view! { <progress max=max value=value aria-label=format!("{} progress", j.kind.label())></progress> }.into_any()
                    } else {
                        view! { <progress aria-label=format!("{} progress", j.kind.label())></progress> }.into_any()
                    })}
                    {(!running && !j.message.is_empty()).then(|| view! { <p>{j.message.clone()}</p> })}
                    <p class="muted job-meta">"Started by " {j.started_by.clone()} " \u{00b7} " <crate::components::time::Time ms=Some(j.started_at) /></p>
                </div>
            }
        })
    }
}
