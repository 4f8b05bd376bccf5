//! The push history: each push with its outcome, its lines on demand, and Undo.

use super::*;
use crate::components::customer::CustomerLink;

#[component]
pub(super) fn HistoryTable(runs: Vec<PushRun>, is_admin: bool, reload: RwSignal<u32>) -> impl IntoView {
    let open = RwSignal::new(None::<i64>);
    let lines = Resource::new(
        move || open.get(),
        |id| async move {
            match id {
                Some(id) => push_lines(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let undo_target = RwSignal::new(None::<i64>);
    let undo_open = RwSignal::new(false);
    let undo_error = RwSignal::new(None::<AppError>);
    let do_undo = Callback::new(move |_| {
        if let Some(id) = undo_target.get_untracked() {
            leptos::task::spawn_local(async move {
                match undo_push(id).await {
                    Ok(_) => reload.update(|n| *n += 1),
                    Err(e) => undo_error.set(Some(e)),
                }
            });
        }
    });
    view! {
        {move || undo_error.get().map(|error| view! { <ErrorPanel error /> })}
        <div class="table-wrap">
            <table class="table" aria-label="Push history">
                <thead><tr><th scope="col">"Push"</th><th scope="col">"When"</th><th scope="col">"By"</th><th scope="col">"What"</th><th scope="col">"Outcome"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>
                    {runs.into_iter().map(|r| {
                        let id = r.push_id;
                        let what = match (r.kind.as_str(), r.undo_of) {
                            ("undo", Some(of)) => format!("Undo of push {of}"),
                            _ => format!("Push for {}", r.period),
                        };
                        let can_undo = is_admin && r.kind == "apply" && r.applied > 0 && r.undone_by.is_none() && r.state != "running";
                        view! {
                            <tr data-push-id=id.to_string()>
                                <td class="nowrap">{format!("#{id}")}</td>
                                <td class="nowrap"><Time ms=Some(r.started_at) /></td>
                                <td>{r.started_by.clone()}</td>
                                <td>{what}{r.undone_by.map(|by| view! { " " <Badge label="Undone" tone=Tone::Muted reason=format!("Reversed by push {by}") /> })}</td>
                                <td>{match r.state.as_str() {
                                    "running" => view! { <Badge label="Running" tone=Tone::Warn /> }.into_any(),
                                    "failed" => view! { <Badge label="Failed" tone=Tone::Bad reason=r.summary.clone().unwrap_or_default() /> }.into_any(),
                                    _ => view! { <span>{r.summary.clone().unwrap_or_default()}</span> }.into_any(),
                                }}</td>
                                <td class="actions">
                                    <button type="button" class="btn btn-small" aria-expanded=move || (open.get() == Some(id)).to_string()
                                        on:click=move |_| open.update(|o| *o = if *o == Some(id) { None } else { Some(id) })>
                                        {move || if open.get() == Some(id) { "Hide lines" } else { "Lines" }}
                                    </button>
                                    {can_undo.then(|| view! {
                                        <button type="button" class="btn btn-small btn-danger-quiet" on:click=move |_| { undo_target.set(Some(id)); undo_open.set(true); }>"Undo"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match lines.await {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(list)) => view! {
                        <div class="table-wrap push-lines">
                            <table class="table" aria-label="Push lines">
                                <thead><tr><th scope="col">"Customer"</th><th scope="col">"Product"</th><th scope="col" class="num">"Before"</th><th scope="col" class="num">"After"</th><th scope="col" class="num">"Change"</th><th scope="col" class="num">"Per month"</th><th scope="col">"Outcome"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|l| view! {
                                        <tr>
                                            <td><CustomerLink id=l.customer_id name=l.customer_name.clone() /></td>
                                            <td>{product(&l.product).map_or(l.product.clone(), |p| p.label.to_string())}</td>
                                            <td class="num">{units(l.autotask_units)}</td>
                                            <td class="num">{units(l.taskbridge_units)}</td>
                                            <td class="num">{format!("{:+}", l.change)}</td>
                                            <td class="num">{money_change(l.money, "")}</td>
                                            <td>{status_badge(&l)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <ConfirmDialog
            open=undo_open
            title=Signal::derive(move || format!("Undo push {}?", undo_target.get().unwrap_or_default()))
            body=Signal::derive(|| "Autotask cannot delete adjustments, so each line this push applied gets the opposite adjustment, effective today, if Autotask still bills what the push set. Lines changed since are left alone. The undo is recorded as a push of its own.".to_string())
            confirm_label="Undo"
            on_confirm=do_undo
        />
    }
    .into_any()
}
