//! Ticket settings, Partner Notification rules, "Send test ticket" and the event log.
//! The dispatcher (`dispatch.rs`) writes tickets with the helpers here, so a test ticket
//! looks exactly like a real one.

use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::error::AutotaskError;
use crate::db::connection::SqlAutotaskSettings;
use crate::db::dynamic::{bind_all, like_escape, page_bounds, Arg};
use crate::db::{audit, now_ms, Db};
use crate::error::SqlxResultExt;
use app::error::AppError;
use app::services::TicketService;
use app::types::tickets::{
    event_label, ticket_link, Choice, CustomerChoice, EventPage, EventQuery, EventRow, NotificationRule, Outcome, PickOption, RuleAction, RuleInput,
    TestTicket, TicketPicklists, TicketSettings,
};
use app::types::CurrentUser;
use serde_json::{json, Value};
use sqlx::Row;
use std::sync::Arc;
use tokio::sync::Notify;

/// The `externalID` of an incident's ticket: the retry after a crash finds it by this.
pub fn external_id(incident_id: i64) -> String {
    format!("taskbridge-incident-{incident_id}")
}

/// Reads the partner's settings (the defaults when none were saved).
pub async fn load_settings(db: &Db, partner_id: i64) -> Result<TicketSettings, sqlx::Error> {
    let row = sqlx::query(
        "select subject_prefix, queue_do_not_map, queue_id, queue_label, priority_id, priority_label, status_new_id, status_new_label, \
         status_complete_id, status_complete_label, note_interval_minutes, updated_at, updated_by from ticket_settings where partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else {
        return Ok(TicketSettings::defaults());
    };
    let choice = |id: &str, label: &str| -> Result<Choice, sqlx::Error> {
        Ok(Choice { id: r.try_get(id)?, label: r.try_get::<Option<String>, _>(label)?.unwrap_or_default() })
    };
    Ok(TicketSettings {
        subject_prefix: r.try_get("subject_prefix")?,
        do_not_map: r.try_get::<i64, _>("queue_do_not_map")? != 0,
        queue: choice("queue_id", "queue_label")?,
        priority: choice("priority_id", "priority_label")?,
        status_new: choice("status_new_id", "status_new_label")?,
        status_complete: choice("status_complete_id", "status_complete_label")?,
        note_interval_minutes: r.try_get("note_interval_minutes")?,
        updated_at: Some(r.try_get("updated_at")?),
        updated_by: Some(r.try_get("updated_by")?),
    })
}

/// The settings turned into the values written on tickets.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Title prefix (with a trailing space when set).
    pub prefix: String,
    /// Queue.
    pub queue_id: i64,
    /// Priority.
    pub priority_id: i64,
    /// Status of new tickets.
    pub status_new: i64,
    /// Status set on recovery.
    pub status_complete: i64,
}

/// Queues, priorities and statuses of the partner's Autotask (every value, active or not).
pub async fn fetch_picklists(client: &AutotaskClient) -> Result<TicketPicklists, AutotaskError> {
    let fields = client.fields("Tickets").await?;
    let pick = |name: &str| -> Vec<PickOption> {
        let mut values = fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).and_then(|f| f.picklist_values.clone()).unwrap_or_default();
        values.sort_by_key(|v| v.sort_order);
        values
            .into_iter()
            .filter(|v| v.is_active)
            .filter_map(|v| Some(PickOption { id: v.value.trim().parse().ok()?, label: v.label, is_default: v.is_default_value }))
            .collect()
    };
    Ok(TicketPicklists { queues: pick("queueID"), priorities: pick("priority"), statuses: pick("status") })
}

/// Why settings could not be turned into ticket values.
#[derive(Debug, Clone)]
pub enum ResolveError {
    /// The queue is "Do not map".
    DoNotMap,
    /// A chosen label is not an active value in the partner's picklist.
    Missing(String),
}

/// Resolves label-only choices (the defaults) against the active picklist values.
pub fn resolve(settings: &TicketSettings, lists: &TicketPicklists) -> Result<Resolved, ResolveError> {
    if settings.do_not_map {
        return Err(ResolveError::DoNotMap);
    }
    let find = |choice: &Choice, list: &[PickOption], what: &str| -> Result<i64, ResolveError> {
        if let Some(id) = choice.id {
            return Ok(id);
        }
        list.iter().find(|o| o.label.trim().eq_ignore_ascii_case(choice.label.trim())).map(|o| o.id).ok_or_else(|| {
            ResolveError::Missing(format!(
                "Your Autotask has no active {what} named \u{201c}{}\u{201d}. Choose one under Ticket settings on the Setup page (Retrieve lists yours).",
                choice.label
            ))
        })
    };
    Ok(Resolved {
        prefix: if settings.subject_prefix.is_empty() { String::new() } else { format!("{} ", settings.subject_prefix) },
        queue_id: find(&settings.queue, &lists.queues, "queue")?,
        priority_id: find(&settings.priority, &lists.priorities, "priority")?,
        status_new: find(&settings.status_new, &lists.statuses, "ticket status")?,
        status_complete: find(&settings.status_complete, &lists.statuses, "ticket status")?,
    })
}

/// The company a customer's tickets go to: the company of its billing contract, else
/// its first linked company. None when the customer is not on the Customer Map.
pub async fn company_of(db: &Db, partner_id: i64, customer_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "select coalesce((select c.contract_company_id from customer c join customer_link l on l.customer_id = c.customer_id and l.company_id = c.contract_company_id \
           where c.customer_id = $2 and c.partner_id = $1), (select min(company_id) from customer_link where partner_id = $1 and customer_id = $2)) as company_id",
    )
    .bind(partner_id)
    .bind(customer_id)
    .fetch_one(&db.pool)
    .await?;
    row.try_get("company_id")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('\u{2026}');
        out
    }
}

/// What a ticket is about.
#[derive(Debug, Clone)]
pub struct TicketFacts<'a> {
    /// Customer name.
    pub customer: &'a str,
    /// Device.
    pub device: &'a str,
    /// Job (may be empty).
    pub job: &'a str,
    /// Event type code.
    pub event_type: &'a str,
    /// Severity.
    pub severity: &'a str,
    /// The platform's message.
    pub message: &'a str,
    /// When it happened.
    pub occurred_at: i64,
    /// The sender's event id.
    pub event_ref: &'a str,
}

/// The title: `[prefix ]Customer: Backup failed on FS01`.
pub fn ticket_title(r: &Resolved, f: &TicketFacts<'_>) -> String {
    clip(&format!("{}{}: {} on {}", r.prefix, f.customer, event_label(f.event_type), f.device), 255)
}

/// The create body of an incident's ticket.
pub fn ticket_body(r: &Resolved, company_id: i64, incident_id: i64, f: &TicketFacts<'_>, interval_minutes: i64, now: i64) -> Value {
    let job = if f.job.is_empty() { String::new() } else { format!(" (job {})", f.job) };
    let description = format!(
        "{label} on {device}{job} for {customer}.\n\nMessage: {message}\nSeverity: {severity}\nFirst occurred: {at}\nEvent: {event}\n\n\
         Taskbridge keeps one ticket per incident (customer + device + event type): repeats are added as notes at most every {interval} minutes, \
         and the ticket is completed when the device reports {label_lower} has recovered. Incident: {external}.",
        label = event_label(f.event_type),
        label_lower = event_label(f.event_type).to_lowercase(),
        device = f.device,
        customer = f.customer,
        message = if f.message.is_empty() { "(none)" } else { f.message },
        severity = f.severity,
        at = app::format::utc_minutes(f.occurred_at),
        event = f.event_ref,
        interval = interval_minutes,
        external = external_id(incident_id),
    );
    json!({
        "companyID": company_id,
        "title": ticket_title(r, f),
        "description": clip(&description, 8000),
        "queueID": r.queue_id,
        "priority": r.priority_id,
        "status": r.status_new,
        "externalID": external_id(incident_id),
        // Some tenants require a due date on every new ticket.
        "dueDateTime": app::format::iso_utc(now + 24 * 3_600_000),
    })
}

/// Whether someone in Autotask completed the ticket.
pub fn completed_in_autotask(t: &Ticket, r: &Resolved) -> bool {
    t.completed_date.is_some() || t.status == Some(r.status_complete)
}

/// Whether a technician took the ticket over (a new status or an assignee).
pub fn taken_over(t: &Ticket, created_status: Option<i64>) -> bool {
    t.assigned_resource_id.is_some() || (created_status.is_some() && t.status != created_status)
}

/// Adds a note unless one carrying `marker` is already there (a retry after a lost
/// answer). Returns whether a note was written now.
pub async fn note_once(
    client: &AutotaskClient,
    ticket_id: i64,
    marker: &str,
    retrying: bool,
    title: &str,
    text: &str,
) -> Result<bool, AutotaskError> {
    use crate::autotask::query::{Filter, Query};
    if retrying {
        let found = client
            .query_all_raw("TicketNotes", &Query::new([Filter::eq("ticketID", ticket_id), Filter::contains("description", marker)]).include(&["id"]))
            .await?;
        if !found.is_empty() {
            return Ok(false);
        }
    }
    let body = json!({"ticketID": ticket_id, "title": clip(title, 250), "description": clip(&format!("{text}\n\nReference: {marker}"), 3_200), "noteType": 1, "publish": 1});
    client.create_child("Tickets", ticket_id, "Notes", "TicketNotes", &body).await?;
    Ok(true)
}

/// The columns of an event as the log (and the dispatcher) read it; append a `where`.
pub const EVENT_SELECT: &str = "select e.event_id, e.external_id, e.customer_id, c.name as customer_name, e.device, e.job, e.event_type, e.severity, \
     e.message, e.occurred_at, e.received_at, e.dispatch_state, e.dispatch_note, e.ticket_id, e.ticket_number from event e join customer c on c.customer_id = e.customer_id";

/// One row of [`EVENT_SELECT`].
pub fn event_row(r: &sqlx::any::AnyRow) -> Result<EventRow, sqlx::Error> {
    Ok(EventRow {
        event_id: r.try_get("event_id")?,
        external_id: r.try_get("external_id")?,
        customer_id: r.try_get("customer_id")?,
        customer_name: r.try_get("customer_name")?,
        device: r.try_get("device")?,
        job: r.try_get("job")?,
        event_type: r.try_get("event_type")?,
        severity: r.try_get("severity")?,
        message: r.try_get("message")?,
        occurred_at: r.try_get("occurred_at")?,
        received_at: r.try_get("received_at")?,
        outcome: Outcome::parse(&r.try_get::<String, _>("dispatch_state")?).unwrap_or_default(),
        note: r.try_get("dispatch_note")?,
        ticket_id: r.try_get("ticket_id")?,
        ticket_number: r.try_get("ticket_number")?,
    })
}

/// Settings, rules, test ticket and the event log on SQL.
#[derive(Clone)]
pub struct SqlTickets {
    db: Db,
    settings: SqlAutotaskSettings,
    wake: Arc<Notify>,
}

fn autotask_problem(e: AutotaskError) -> AppError {
    AppError::Conflict(e.to_string())
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn split_ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

impl SqlTickets {
    /// On this database, calling Autotask with the partner's connection; `wake` nudges the
    /// dispatcher after a change.
    pub fn new(db: Db, settings: SqlAutotaskSettings, wake: Arc<Notify>) -> Self {
        Self { db, settings, wake }
    }

    async fn client(&self, partner_id: i64) -> Result<Arc<AutotaskClient>, AppError> {
        self.settings.client(partner_id).await.map_err(|p| AppError::Conflict(p.message))
    }

    async fn rule(&self, partner_id: i64, rule_id: i64) -> Result<NotificationRule, AppError> {
        self.rules(partner_id).await?.into_iter().find(|r| r.rule_id == rule_id).ok_or(AppError::NotFound)
    }

    async fn check_customers(&self, partner_id: i64, ids: &[i64]) -> Result<(), AppError> {
        for chunk in ids.chunks(500) {
            let (sql, args) =
                crate::db::dynamic::in_list("select count(*) as n from customer where partner_id = $1 and customer_id in", partner_id, chunk);
            let n: i64 = bind_all(sqlx::query(&sql), &args).fetch_one(&self.db.pool).await.internal()?.try_get("n").internal()?;
            if n != chunk.len() as i64 {
                return Err(AppError::invalid("customer_ids", "One of the chosen customers no longer exists; reload the page and choose again."));
            }
        }
        Ok(())
    }

    /// Lets the dispatcher try again at once (after settings or rules change).
    async fn resume_dispatch(&self, partner_id: i64) {
        let _ = sqlx::query("update dispatch_lease set retry_at = null where partner_id = $1").bind(partner_id).execute(&self.db.pool).await;
        self.wake.notify_one();
    }

    fn describe(rule: &RuleInput) -> String {
        let types = if rule.all_types { "all event types".to_string() } else { rule.event_types.join(", ") };
        let customers = if rule.customer_ids.is_empty() { "all customers".to_string() } else { format!("{} customers", rule.customer_ids.len()) };
        format!("{} for {types}, {customers}; OK events {}", rule.action.label(), if rule.subscribe_ok { "yes" } else { "no" })
    }
}

#[async_trait::async_trait]
impl TicketService for SqlTickets {
    async fn settings(&self, partner_id: i64) -> Result<TicketSettings, AppError> {
        load_settings(&self.db, partner_id).await.internal()
    }

    async fn save_settings(&self, actor: &CurrentUser, mut s: TicketSettings) -> Result<TicketSettings, AppError> {
        s.validate()?;
        let now = now_ms();
        let mut tx = self.db.begin().await.internal()?;
        sqlx::query(
            "insert into ticket_settings (partner_id, subject_prefix, queue_do_not_map, queue_id, queue_label, priority_id, priority_label, status_new_id, \
             status_new_label, status_complete_id, status_complete_label, note_interval_minutes, updated_at, updated_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             on conflict (partner_id) do update set subject_prefix = excluded.subject_prefix, queue_do_not_map = excluded.queue_do_not_map, \
             queue_id = excluded.queue_id, queue_label = excluded.queue_label, priority_id = excluded.priority_id, priority_label = excluded.priority_label, \
             status_new_id = excluded.status_new_id, status_new_label = excluded.status_new_label, status_complete_id = excluded.status_complete_id, \
             status_complete_label = excluded.status_complete_label, note_interval_minutes = excluded.note_interval_minutes, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(actor.partner_id)
        .bind(&s.subject_prefix)
        .bind(i64::from(s.do_not_map))
        .bind(s.queue.id)
        .bind(&s.queue.label)
        .bind(s.priority.id)
        .bind(&s.priority.label)
        .bind(s.status_new.id)
        .bind(&s.status_new.label)
        .bind(s.status_complete.id)
        .bind(&s.status_complete.label)
        .bind(s.note_interval_minutes)
        .bind(now)
        .bind(&actor.email)
        .execute(&mut *tx)
        .await
        .internal()?;
        let summary = if s.do_not_map {
            "Ticket settings saved: queue Do not map (ticketing off)".to_string()
        } else {
            format!(
                "Ticket settings saved: queue {}, priority {}, new {}, complete {}",
                s.queue.label, s.priority.label, s.status_new.label, s.status_complete.label
            )
        };
        audit::record(&mut *tx, actor.partner_id, &actor.email, "tickets.settings", &summary).await?;
        tx.commit().await.internal()?;
        self.resume_dispatch(actor.partner_id).await;
        self.settings(actor.partner_id).await
    }

    async fn picklists(&self, partner_id: i64) -> Result<TicketPicklists, AppError> {
        let client = self.client(partner_id).await?;
        fetch_picklists(&client).await.map_err(autotask_problem)
    }

    async fn rules(&self, partner_id: i64) -> Result<Vec<NotificationRule>, AppError> {
        let rows = sqlx::query(
            "select rule_id, action, subscribe_ok, all_types, event_types, customer_ids, complete_on_recovery, created_at, created_by \
             from notification_rule where partner_id = $1 order by rule_id",
        )
        .bind(partner_id)
        .fetch_all(&self.db.pool)
        .await
        .internal()?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let input = RuleInput {
                action: RuleAction::parse(&r.try_get::<String, _>("action").internal()?).unwrap_or_default(),
                subscribe_ok: r.try_get::<i64, _>("subscribe_ok").internal()? != 0,
                all_types: r.try_get::<i64, _>("all_types").internal()? != 0,
                event_types: r.try_get::<String, _>("event_types").internal()?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                customer_ids: split_ids(&r.try_get::<String, _>("customer_ids").internal()?),
                complete_on_recovery: r.try_get::<i64, _>("complete_on_recovery").internal()? != 0,
            };
            let mut customer_names = Vec::new();
            for chunk in input.customer_ids.chunks(500) {
                let (sql, args) =
                    crate::db::dynamic::in_list("select customer_id, name from customer where partner_id = $1 and customer_id in", partner_id, chunk);
                let names: std::collections::HashMap<i64, String> = bind_all(sqlx::query(&sql), &args)
                    .fetch_all(&self.db.pool)
                    .await
                    .internal()?
                    .iter()
                    .filter_map(|r| Some((r.try_get("customer_id").ok()?, r.try_get("name").ok()?)))
                    .collect();
                customer_names.extend(chunk.iter().map(|id| names.get(id).cloned().unwrap_or_else(|| format!("Customer {id} (deleted)"))));
            }
            out.push(NotificationRule {
                rule_id: r.try_get("rule_id").internal()?,
                input,
                customer_names,
                created_at: r.try_get("created_at").internal()?,
                created_by: r.try_get("created_by").internal()?,
            });
        }
        Ok(out)
    }

    async fn create_rule(&self, actor: &CurrentUser, mut rule: RuleInput) -> Result<NotificationRule, AppError> {
        rule.validate()?;
        self.check_customers(actor.partner_id, &rule.customer_ids).await?;
        let mut tx = self.db.begin().await.internal()?;
        let id: i64 = sqlx::query(
            "insert into notification_rule (partner_id, action, subscribe_ok, all_types, event_types, customer_ids, complete_on_recovery, created_at, created_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning rule_id",
        )
        .bind(actor.partner_id)
        .bind(rule.action.as_str())
        .bind(i64::from(rule.subscribe_ok))
        .bind(i64::from(rule.all_types))
        .bind(rule.event_types.join(","))
        .bind(join_ids(&rule.customer_ids))
        .bind(i64::from(rule.complete_on_recovery))
        .bind(now_ms())
        .bind(&actor.email)
        .fetch_one(&mut *tx)
        .await
        .internal()?
        .try_get("rule_id")
        .internal()?;
        audit::record(&mut *tx, actor.partner_id, &actor.email, "rules.create", &format!("Notification created: {}", Self::describe(&rule))).await?;
        tx.commit().await.internal()?;
        self.resume_dispatch(actor.partner_id).await;
        self.rule(actor.partner_id, id).await
    }

    async fn update_rule(&self, actor: &CurrentUser, rule_id: i64, mut rule: RuleInput) -> Result<NotificationRule, AppError> {
        rule.validate()?;
        self.check_customers(actor.partner_id, &rule.customer_ids).await?;
        let mut tx = self.db.begin().await.internal()?;
        let done = sqlx::query(
            "update notification_rule set action = $1, subscribe_ok = $2, all_types = $3, event_types = $4, customer_ids = $5, complete_on_recovery = $6 \
             where rule_id = $7 and partner_id = $8",
        )
        .bind(rule.action.as_str())
        .bind(i64::from(rule.subscribe_ok))
        .bind(i64::from(rule.all_types))
        .bind(rule.event_types.join(","))
        .bind(join_ids(&rule.customer_ids))
        .bind(i64::from(rule.complete_on_recovery))
        .bind(rule_id)
        .bind(actor.partner_id)
        .execute(&mut *tx)
        .await
        .internal()?;
        if done.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            &mut *tx,
            actor.partner_id,
            &actor.email,
            "rules.update",
            &format!("Notification {rule_id} changed: {}", Self::describe(&rule)),
        )
        .await?;
        tx.commit().await.internal()?;
        self.resume_dispatch(actor.partner_id).await;
        self.rule(actor.partner_id, rule_id).await
    }

    async fn delete_rule(&self, actor: &CurrentUser, rule_id: i64) -> Result<(), AppError> {
        let rule = self.rule(actor.partner_id, rule_id).await?;
        let mut tx = self.db.begin().await.internal()?;
        sqlx::query("delete from notification_rule where rule_id = $1 and partner_id = $2")
            .bind(rule_id)
            .bind(actor.partner_id)
            .execute(&mut *tx)
            .await
            .internal()?;
        audit::record(&mut *tx, actor.partner_id, &actor.email, "rules.delete", &format!("Notification deleted: {}", Self::describe(&rule.input)))
            .await?;
        tx.commit().await.internal()
    }

    async fn customer_choices(&self, partner_id: i64, search: String) -> Result<Vec<CustomerChoice>, AppError> {
        let pattern = format!("%{}%", like_escape(&search.trim().to_lowercase()));
        let rows = sqlx::query(
            "select customer_id, name, matched from customer where partner_id = $1 and name_key like $2 escape '\\' order by name_key, customer_id limit 50",
        )
        .bind(partner_id)
        .bind(pattern)
        .fetch_all(&self.db.pool)
        .await
        .internal()?;
        rows.iter()
            .map(|r| {
                Ok(CustomerChoice { customer_id: r.try_get("customer_id")?, name: r.try_get("name")?, mapped: r.try_get::<i64, _>("matched")? != 0 })
            })
            .collect::<Result<_, sqlx::Error>>()
            .internal()
    }

    async fn test_ticket(&self, actor: &CurrentUser, customer_id: Option<i64>) -> Result<TestTicket, AppError> {
        let partner_id = actor.partner_id;
        let settings = load_settings(&self.db, partner_id).await.internal()?;
        if settings.do_not_map {
            return Err(AppError::invalid(
                "queue",
                "Ticketing is off: the queue is set to \u{201c}Do not map\u{201d}. Choose a queue under Ticket settings first.",
            ));
        }
        let customer_id = match customer_id {
            Some(id) => id,
            None => sqlx::query("select customer_id from customer where partner_id = $1 and matched = 1 order by name_key, customer_id limit 1")
                .bind(partner_id)
                .fetch_optional(&self.db.pool)
                .await
                .internal()?
                .map(|r| r.try_get::<i64, _>("customer_id"))
                .transpose()
                .internal()?
                .ok_or_else(|| {
                    AppError::invalid("customer_id", "No customer is mapped to an Autotask company yet. Map one on the Customer Map first.")
                })?,
        };
        let name: String = sqlx::query("select name from customer where partner_id = $1 and customer_id = $2")
            .bind(partner_id)
            .bind(customer_id)
            .fetch_optional(&self.db.pool)
            .await
            .internal()?
            .ok_or(AppError::NotFound)?
            .try_get("name")
            .internal()?;
        let company_id = company_of(&self.db, partner_id, customer_id).await.internal()?.ok_or_else(|| {
            AppError::invalid("customer_id", format!("{name} is not mapped to an Autotask company. Map it on the Customer Map first."))
        })?;
        let client = self.client(partner_id).await?;
        let web_url = crate::db::connection::web_url(&self.db, partner_id).await.internal()?;
        let mut steps = Vec::new();
        let fail = |mut steps: Vec<String>, what: &str, e: AutotaskError, ticket: Option<(i64, Option<String>)>| {
            steps.push(format!("{what} failed: {e}"));
            TestTicket { ok: false, steps, ticket_id: ticket.as_ref().map(|t| t.0), ticket_number: ticket.and_then(|t| t.1), link: None }
        };
        let lists = match fetch_picklists(&client).await {
            Ok(l) => l,
            Err(e) => return Ok(fail(steps, "Reading your ticket picklists", e, None)),
        };
        let resolved = match resolve(&settings, &lists) {
            Ok(r) => r,
            Err(ResolveError::DoNotMap) => {
                return Err(AppError::invalid("queue", "Ticketing is off: the queue is set to \u{201c}Do not map\u{201d}."))
            }
            Err(ResolveError::Missing(m)) => return Err(AppError::invalid("queue", m)),
        };
        let now = now_ms();
        let facts = TicketFacts {
            customer: &name,
            device: "Taskbridge",
            job: "",
            event_type: "backup_failed",
            severity: "ok",
            message: "This is a test ticket sent from the Partner Notifications page.",
            occurred_at: now,
            event_ref: "test",
        };
        let mut body = ticket_body(&resolved, company_id, 0, &facts, settings.note_interval_minutes, now);
        body["title"] = Value::from(format!("{}Taskbridge test ticket for {name}", resolved.prefix));
        body["externalID"] = Value::from(format!("taskbridge-test-{now}"));
        body["description"] = Value::from(format!(
            "A test ticket from Taskbridge, sent by {} to check the ticket settings: queue, priority and status are the ones real backup alerts will use. \
             Taskbridge adds a note and completes it right away.",
            actor.email
        ));
        let ticket_id = match client.create("Tickets", &body).await {
            Ok(id) => id,
            Err(e) => return Ok(fail(steps, "Creating the ticket", e, None)),
        };
        let number = client.get::<Ticket>(ticket_id).await.ok().flatten().and_then(|t| t.ticket_number);
        steps.push(format!("Opened ticket {} in {name}'s company ({company_id}).", number.clone().unwrap_or_else(|| ticket_id.to_string())));
        if let Err(e) =
            note_once(&client, ticket_id, &format!("taskbridge-test-{now}"), false, "Test note", "Taskbridge can add notes to this ticket.").await
        {
            return Ok(fail(steps, "Adding a note", e, Some((ticket_id, number))));
        }
        steps.push("Added a note.".into());
        if let Err(e) = client.patch("Tickets", &json!({"id": ticket_id, "status": resolved.status_complete})).await {
            return Ok(fail(steps, "Completing the ticket", e, Some((ticket_id, number))));
        }
        steps.push(format!("Completed it with the status \u{201c}{}\u{201d}.", settings.status_complete.label));
        audit::record(
            &self.db.pool,
            partner_id,
            &actor.email,
            "tickets.test",
            &format!("Test ticket {} sent to {name}", number.clone().unwrap_or_else(|| ticket_id.to_string())),
        )
        .await?;
        Ok(TestTicket { ok: true, steps, ticket_id: Some(ticket_id), ticket_number: number, link: ticket_link(&web_url, ticket_id) })
    }

    async fn events(&self, partner_id: i64, q: EventQuery) -> Result<EventPage, AppError> {
        let mut args = vec![Arg::Int(partner_id)];
        let mut filter = String::new();
        let search = q.search.trim();
        if !search.is_empty() {
            args.push(Arg::Text(format!("%{}%", like_escape(&search.to_lowercase()))));
            let like = args.len();
            args.push(Arg::Text(search.to_string()));
            let exact = args.len();
            filter.push_str(&format!(
                " and (c.name_key like ${like} escape '\\' or lower(e.device) like ${like} escape '\\' or e.external_id = ${exact} or e.ticket_number = ${exact})"
            ));
        }
        if !q.event_type.is_empty() {
            args.push(Arg::Text(q.event_type.clone()));
            filter.push_str(&format!(" and e.event_type = ${}", args.len()));
        }
        if !q.severity.is_empty() {
            args.push(Arg::Text(q.severity.clone()));
            filter.push_str(&format!(" and e.severity = ${}", args.len()));
        }
        if let Some(o) = Outcome::parse(&q.outcome) {
            args.push(Arg::Text(o.as_str().to_string()));
            filter.push_str(&format!(" and e.dispatch_state = ${}", args.len()));
        }
        let from = " where e.partner_id = $1";
        let total: i64 = bind_all(
            sqlx::query(&format!("select count(*) as n from event e join customer c on c.customer_id = e.customer_id{from}{filter}")),
            &args,
        )
        .fetch_one(&self.db.pool)
        .await
        .internal()?
        .try_get("n")
        .internal()?;
        let (page, per_page, offset) = page_bounds(total, q.page, q.per_page, 200);
        let sql = format!("{EVENT_SELECT}{from}{filter} order by e.event_id desc limit {per_page} offset {offset}");
        let rows = bind_all(sqlx::query(&sql), &args).fetch_all(&self.db.pool).await.internal()?;
        let rows = rows.iter().map(event_row).collect::<Result<Vec<_>, sqlx::Error>>().internal()?;
        let pending: i64 = sqlx::query("select count(*) as n from event where partner_id = $1 and dispatch_state = 'pending'")
            .bind(partner_id)
            .fetch_one(&self.db.pool)
            .await
            .internal()?
            .try_get("n")
            .internal()?;
        let health = sqlx::query("select retry_at, last_error from dispatch_lease where partner_id = $1")
            .bind(partner_id)
            .fetch_optional(&self.db.pool)
            .await
            .internal()?;
        let (retry_at, problem) = match health {
            Some(h) => (h.try_get::<Option<i64>, _>("retry_at").internal()?, h.try_get::<Option<String>, _>("last_error").internal()?),
            None => (None, None),
        };
        let autotask_web_url = crate::db::connection::web_url(&self.db, partner_id).await.internal()?;
        Ok(EventPage { rows, total, page, per_page, pending, problem, retry_at, autotask_web_url })
    }
}
