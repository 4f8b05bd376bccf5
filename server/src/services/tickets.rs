//! Ticket settings, Partner Notification rules, "Send test ticket" and the event log.
//! `autotask.rs` says what a ticket looks like (the dispatcher writes with it, so a test
//! ticket looks exactly like a real one); `test_ticket.rs` sends one.

mod autotask;
mod test_ticket;

pub use autotask::{
    completed_in_autotask, external_id, fetch_picklists, note_exists, note_once, resolve, sentence, taken_over, ticket_body, ticket_title,
    ResolveError, Resolved, TicketFacts,
};

use crate::autotask::client::AutotaskClient;
use crate::db::audit::{self, values, Change};
use crate::db::{dispatch, events, now_ms, tickets as store, Db};
use crate::error::{autotask_problem, SqlxResultExt};
use crate::services::connection::SqlAutotaskSettings;
use crate::services::user_calls::UserCall;
use app::error::AppError;
use app::services::TicketService;
use app::types::tickets::{
    CustomerChoice, EventPage, EventQuery, HeldCustomer, NotificationRule, RuleAction, RuleInput, TestTicket, TicketPicklists, TicketSettings,
};
use app::types::CurrentUser;
use std::sync::Arc;
use tokio::sync::Notify;

/// Settings, rules, test ticket and the event log on SQL.
#[derive(Clone)]
pub struct SqlTickets {
    db: Db,
    settings: SqlAutotaskSettings,
    wake: Arc<Notify>,
}

impl SqlTickets {
    /// On this database, calling Autotask with the partner's connection; `wake` nudges the
    /// dispatcher after a change.
    pub fn new(db: Db, settings: SqlAutotaskSettings, wake: Arc<Notify>) -> Self {
        Self { db, settings, wake }
    }

    async fn client(&self, partner_id: i64) -> Result<Arc<AutotaskClient>, AppError> {
        Ok(self.settings.client(partner_id).await?)
    }

    async fn rule(&self, partner_id: i64, rule_id: i64) -> Result<NotificationRule, AppError> {
        self.rules(partner_id).await?.into_iter().find(|r| r.rule_id == rule_id).ok_or(AppError::NotFound)
    }

    /// Refuses a rule that another of the partner's rules already is (it would do nothing
    /// more; two sync rules are always twins, having no choices).
    async fn refuse_twin(&self, partner_id: i64, rule_id: Option<i64>, rule: &RuleInput) -> Result<(), AppError> {
        let rows = store::rules(&self.db, partner_id, Some(rule.action)).await.internal()?;
        let Some(twin) = rows.iter().find(|r| Some(r.rule_id) != rule_id && r.input() == *rule) else { return Ok(()) };
        Err(AppError::Conflict(match rule.action {
            RuleAction::Sync => {
                format!("Automatic billing pushes are already on: notification {} synchronizes with Autotask, and one is enough.", twin.rule_id)
            }
            RuleAction::Ticket => format!("Notification {} already does exactly this; edit that one instead.", twin.rule_id),
        }))
    }

    /// "Synchronize with Autotask" rules switch automatic billing pushes on and off, and
    /// pushing is an admin's decision: only admins create, change or delete them (ticket
    /// rules stay open to technicians).
    fn may_change(actor: &CurrentUser, action: RuleAction) -> Result<(), AppError> {
        if action == RuleAction::Sync && !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        Ok(())
    }

    async fn check_customers(&self, partner_id: i64, ids: &[i64]) -> Result<(), AppError> {
        for chunk in ids.chunks(500) {
            if store::count_customers(&self.db, partner_id, chunk).await.internal()? != chunk.len() as i64 {
                return Err(AppError::invalid("customer_ids", "One of the chosen customers no longer exists; reload the page and choose again."));
            }
        }
        Ok(())
    }

    /// Lets the dispatcher try again at once (after settings or rules change).
    async fn resume_dispatch(&self, partner_id: i64) {
        if let Err(e) = dispatch::resume(&self.db, partner_id).await {
            tracing::warn!(error = %e, partner_id, "could not end the dispatch pause");
        }
        self.wake.notify_one();
    }

    fn describe(rule: &RuleInput) -> String {
        let types =
            if rule.all_types { "all event types".to_string() } else { rule.event_types.iter().map(|t| t.code()).collect::<Vec<_>>().join(", ") };
        let customers = if rule.customer_ids.is_empty() { "all customers".to_string() } else { format!("{} customers", rule.customer_ids.len()) };
        format!("{} for {types}, {customers}; OK events {}", rule.action.label(), if rule.subscribe_ok { "yes" } else { "no" })
    }
}

#[async_trait::async_trait]
impl TicketService for SqlTickets {
    async fn settings(&self, partner_id: i64) -> Result<TicketSettings, AppError> {
        store::settings(&self.db, partner_id).await.internal()
    }

    async fn save_settings(&self, actor: &CurrentUser, mut s: TicketSettings) -> Result<TicketSettings, AppError> {
        s.validate()?;
        let before = self.settings(actor.partner_id).await?;
        let changes = values(&before, &s);
        let mut tx = self.db.begin().await.internal()?;
        store::save_settings(&mut tx, actor.partner_id, &s, &actor.email, now_ms()).await.internal()?;
        let summary = if s.do_not_map {
            "Ticket settings saved: queue Do not map (ticketing off)".to_string()
        } else {
            format!(
                "Ticket settings saved: queue {}, priority {}, new {}, complete {}",
                s.queue.label, s.priority.label, s.status_new.label, s.status_complete.label
            )
        };
        audit::record_change(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "tickets.settings",
            &summary,
            &Change { customer_id: None, changes: &changes },
        )
        .await?;
        tx.commit().await.internal()?;
        self.resume_dispatch(actor.partner_id).await;
        self.settings(actor.partner_id).await
    }

    async fn picklists(&self, partner_id: i64) -> Result<TicketPicklists, AppError> {
        self.settings.spend(partner_id, UserCall::Picklists)?;
        let client = self.client(partner_id).await?;
        fetch_picklists(&client).await.map_err(autotask_problem)
    }

    async fn rules(&self, partner_id: i64) -> Result<Vec<NotificationRule>, AppError> {
        let rows = store::rules(&self.db, partner_id, None).await.internal()?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let input = r.input();
            let mut customer_names = Vec::new();
            for chunk in input.customer_ids.chunks(500) {
                let names = store::customer_names(&self.db, partner_id, chunk).await.internal()?;
                customer_names.extend(chunk.iter().map(|id| names.get(id).cloned().unwrap_or_else(|| format!("Customer {id} (deleted)"))));
            }
            out.push(NotificationRule { rule_id: r.rule_id, input, customer_names, created_at: r.created_at, created_by: r.created_by });
        }
        Ok(out)
    }

    async fn create_rule(&self, actor: &CurrentUser, mut rule: RuleInput) -> Result<NotificationRule, AppError> {
        Self::may_change(actor, rule.action)?;
        rule.validate()?;
        self.check_customers(actor.partner_id, &rule.customer_ids).await?;
        self.refuse_twin(actor.partner_id, None, &rule).await?;
        let mut tx = self.db.begin().await.internal()?;
        let id = store::insert_rule(&mut tx, actor.partner_id, &rule, &actor.email, now_ms()).await.internal()?;
        let (summary, changes) = (format!("Notification created: {}", Self::describe(&rule)), values(&(), &rule));
        audit::record_change(&mut *tx, actor.partner_id, &actor.email, "rules.create", &summary, &Change { customer_id: None, changes: &changes })
            .await?;
        tx.commit().await.internal()?;
        self.resume_dispatch(actor.partner_id).await;
        self.rule(actor.partner_id, id).await
    }

    async fn update_rule(&self, actor: &CurrentUser, rule_id: i64, mut rule: RuleInput) -> Result<NotificationRule, AppError> {
        Self::may_change(actor, rule.action)?;
        let before = self.rule(actor.partner_id, rule_id).await?.input;
        Self::may_change(actor, before.action)?;
        rule.validate()?;
        self.check_customers(actor.partner_id, &rule.customer_ids).await?;
        self.refuse_twin(actor.partner_id, Some(rule_id), &rule).await?;
        let mut tx = self.db.begin().await.internal()?;
        if !store::update_rule(&mut tx, actor.partner_id, rule_id, &rule).await.internal()? {
            return Err(AppError::NotFound);
        }
        let summary = format!("Notification {rule_id} changed: {}", Self::describe(&rule));
        let changes = values(&before, &rule);
        audit::record_change(&mut *tx, actor.partner_id, &actor.email, "rules.update", &summary, &Change { customer_id: None, changes: &changes })
            .await?;
        tx.commit().await.internal()?;
        self.resume_dispatch(actor.partner_id).await;
        self.rule(actor.partner_id, rule_id).await
    }

    async fn delete_rule(&self, actor: &CurrentUser, rule_id: i64) -> Result<(), AppError> {
        let rule = self.rule(actor.partner_id, rule_id).await?;
        Self::may_change(actor, rule.input.action)?;
        let mut tx = self.db.begin().await.internal()?;
        store::delete_rule(&mut tx, actor.partner_id, rule_id).await.internal()?;
        let summary = format!("Notification deleted: {}", Self::describe(&rule.input));
        let changes = values(&rule.input, &());
        audit::record_change(&mut *tx, actor.partner_id, &actor.email, "rules.delete", &summary, &Change { customer_id: None, changes: &changes })
            .await?;
        tx.commit().await.internal()
    }

    async fn customer_choices(&self, partner_id: i64, search: String) -> Result<Vec<CustomerChoice>, AppError> {
        store::customer_choices(&self.db, partner_id, &search).await.internal()
    }

    async fn retry_events(&self, actor: &CurrentUser, event_ids: Vec<i64>, retry_of: i64) -> Result<i64, AppError> {
        let requeued = dispatch::requeue_failed(&self.db, actor.partner_id, &event_ids, retry_of).await.internal()?;
        if requeued == 0 {
            return Err(AppError::Conflict(
                "These events were handled since: nothing is left to retry. The Event log shows what became of them.".into(),
            ));
        }
        self.resume_dispatch(actor.partner_id).await;
        Ok(requeued as i64)
    }

    async fn test_ticket(&self, actor: &CurrentUser, customer_id: Option<i64>) -> Result<TestTicket, AppError> {
        self.settings.spend(actor.partner_id, UserCall::TestTicket)?;
        test_ticket::send(&self.db, &self.settings, actor, customer_id).await
    }

    async fn events(&self, partner_id: i64, q: EventQuery) -> Result<EventPage, AppError> {
        let (rows, total, page, per_page) = events::page(&self.db, partner_id, &q).await.internal()?;
        let pending = events::pending_count(&self.db, partner_id).await.internal()?;
        let health = dispatch::health(&self.db, partner_id).await.internal()?;
        let held = dispatch::holds(&self.db, partner_id).await.internal()?;
        let held = held
            .into_iter()
            .map(|h| HeldCustomer {
                customer_id: h.customer_id,
                customer: h.customer_name,
                reason: h.last_error,
                since: h.since,
                retry_at: h.retry_at,
            })
            .collect();
        let autotask_web_url = crate::db::connection::web_url(&self.db, partner_id).await.internal()?;
        let paused_since = health.paused_since();
        Ok(EventPage {
            rows,
            total,
            page,
            per_page,
            pending,
            problem: health.last_error,
            retry_at: health.retry_at,
            paused_since,
            held,
            autotask_web_url,
        })
    }
}
