//! The table of a partner's notification rules, each with what it covers and its
//! Edit and Delete (sync rules: admins only).

use super::Editing;
use crate::components::badge::{Badge, Tone};
use crate::components::time::Time;
use crate::types::tickets::{NotificationRule, RuleAction};
use leptos::prelude::*;

#[component]
pub(super) fn RulesTable(
    list: Vec<NotificationRule>,
    /// Only admins change "Synchronize with Autotask" rules (they switch billing pushes).
    admin: bool,
    editing: RwSignal<Editing>,
    delete_target: RwSignal<Option<NotificationRule>>,
    delete_open: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" aria-label="Notifications">
                <thead>
                    <tr>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Event types"</th>
                        <th scope="col">"OK events"</th>
                        <th scope="col">"Customers"</th>
                        <th scope="col">"On recovery"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|rule| {
                        let r = rule.clone();
                        let for_delete = rule.clone();
                        let sync = rule.input.action == RuleAction::Sync;
                        let types = if sync { "Usage of every customer (billing pushes)".to_string() } else if rule.input.all_types { "All event types".to_string() } else { rule.input.event_types.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ") };
                        let customers = if rule.input.customer_ids.is_empty() {
                            "All customers".to_string()
                        } else {
                            rule.input.customer_ids.iter().zip(&rule.customer_names).map(|(id, name)| format!("{name} (#{id})")).collect::<Vec<_>>().join(", ")
                        };
                        view! {
                            <tr data-rule-id=rule.rule_id.to_string()>
                                <td>{rule.input.action.label()}</td>
                                <td>{types}</td>
                                <td>{if sync { "\u{2014}" } else if rule.input.subscribe_ok { "Yes" } else { "No" }}</td>
                                <td>{customers}</td>
                                <td>{match (rule.input.action, rule.input.complete_on_recovery) {
                                    (RuleAction::Sync, _) => view! { <span class="muted">"\u{2014}"</span> }.into_any(),
                                    (_, true) => view! { <Badge label="Complete ticket" tone=Tone::Good /> }.into_any(),
                                    (_, false) => view! { <Badge label="Note only" tone=Tone::Muted reason="The recovery is added as a note; the ticket stays open." /> }.into_any(),
                                }}</td>
                                <td class="nowrap" title=format!("Created by {}", rule.created_by)><Time ms=Some(rule.created_at) /></td>
                                <td class="actions">
                                    {if rule.input.action == RuleAction::Sync && !admin {
                                        view! { <span class="muted" title="Synchronize rules switch billing pushes; an admin changes them.">"Admins only"</span> }.into_any()
                                    } else {
                                        view! {
                                            <button type="button" class="btn btn-small" on:click=move |_| editing.set(Editing::Rule(r.rule_id, r.input.clone(), r.customer_names.clone()))>"Edit"</button>
                                            <button type="button" class="btn btn-small btn-danger-quiet" on:click=move |_| { delete_target.set(Some(for_delete.clone())); delete_open.set(true); }>"Delete"</button>
                                        }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
