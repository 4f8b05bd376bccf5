//! Ticket settings and Partner Notification rules, and the customer lookups the rule
//! form and the test ticket need. Every query is filtered by partner.

use super::dynamic::{bind_all, bind_all_as, in_list, like_escape};
use super::Db;
use app::types::tickets::{Choice, CustomerChoice, EventType, RuleAction, RuleInput, TicketSettings};
use sqlx::{Any, Transaction};
use std::collections::HashMap;

/// The stored ticket settings row.
#[derive(Debug, sqlx::FromRow)]
struct SettingsRow {
    subject_prefix: String,
    queue_do_not_map: i64,
    queue_id: Option<i64>,
    queue_label: Option<String>,
    priority_id: Option<i64>,
    priority_label: Option<String>,
    status_new_id: Option<i64>,
    status_new_label: Option<String>,
    status_complete_id: Option<i64>,
    status_complete_label: Option<String>,
    note_interval_minutes: i64,
    updated_at: i64,
    updated_by: String,
}

impl From<SettingsRow> for TicketSettings {
    fn from(r: SettingsRow) -> Self {
        let choice = |id, label: Option<String>| Choice { id, label: label.unwrap_or_default() };
        TicketSettings {
            subject_prefix: r.subject_prefix,
            do_not_map: r.queue_do_not_map != 0,
            queue: choice(r.queue_id, r.queue_label),
            priority: choice(r.priority_id, r.priority_label),
            status_new: choice(r.status_new_id, r.status_new_label),
            status_complete: choice(r.status_complete_id, r.status_complete_label),
            note_interval_minutes: r.note_interval_minutes,
            updated_at: Some(r.updated_at),
            updated_by: Some(r.updated_by),
        }
    }
}

/// The partner's settings (the defaults when none were saved).
pub async fn settings(db: &Db, partner_id: i64) -> Result<TicketSettings, sqlx::Error> {
    let row: Option<SettingsRow> = sqlx::query_as(
        "select subject_prefix, queue_do_not_map, queue_id, queue_label, priority_id, priority_label, status_new_id, status_new_label, \
         status_complete_id, status_complete_label, note_interval_minutes, updated_at, updated_by from ticket_settings where partner_id = $1",
    )
    .bind(partner_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map_or_else(TicketSettings::defaults, TicketSettings::from))
}

/// Saves the partner's settings (validated by the caller).
pub async fn save_settings(tx: &mut Transaction<'static, Any>, partner_id: i64, s: &TicketSettings, by: &str, now: i64) -> Result<(), sqlx::Error> {
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
    .bind(partner_id)
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
    .bind(by)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A stored notification rule. The event types (by code) and customers are kept as
/// comma-separated lists; [`RuleRow::input`] reads them back as values.
#[derive(Debug, sqlx::FromRow)]
pub struct RuleRow {
    /// Id.
    pub rule_id: i64,
    action: String,
    subscribe_ok: i64,
    all_types: i64,
    event_types: String,
    customer_ids: String,
    complete_on_recovery: i64,
    /// Created.
    pub created_at: i64,
    /// By whom.
    pub created_by: String,
}

impl RuleRow {
    /// The rule's choices.
    pub fn input(&self) -> RuleInput {
        RuleInput {
            action: RuleAction::parse(&self.action).unwrap_or_default(),
            subscribe_ok: self.subscribe_ok != 0,
            all_types: self.all_types != 0,
            event_types: self.event_types.split(',').filter_map(EventType::parse).collect(),
            customer_ids: self.customer_ids.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
            complete_on_recovery: self.complete_on_recovery != 0,
        }
    }
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The partner's rules in creation order; `action` limits them to one kind.
pub async fn rules(db: &Db, partner_id: i64, action: Option<RuleAction>) -> Result<Vec<RuleRow>, sqlx::Error> {
    sqlx::query_as(
        "select rule_id, action, subscribe_ok, all_types, event_types, customer_ids, complete_on_recovery, created_at, created_by \
         from notification_rule where partner_id = $1 and ($2 = '' or action = $2) order by rule_id",
    )
    .bind(partner_id)
    .bind(action.map_or("", RuleAction::as_str))
    .fetch_all(&db.pool)
    .await
}

/// Stores a new rule; returns its id.
pub async fn insert_rule(tx: &mut Transaction<'static, Any>, partner_id: i64, rule: &RuleInput, by: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into notification_rule (partner_id, action, subscribe_ok, all_types, event_types, customer_ids, complete_on_recovery, created_at, created_by) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning rule_id",
    )
    .bind(partner_id)
    .bind(rule.action.as_str())
    .bind(i64::from(rule.subscribe_ok))
    .bind(i64::from(rule.all_types))
    .bind(rule.event_types.iter().map(|t| t.code()).collect::<Vec<_>>().join(","))
    .bind(join_ids(&rule.customer_ids))
    .bind(i64::from(rule.complete_on_recovery))
    .bind(now)
    .bind(by)
    .fetch_one(&mut **tx)
    .await
}

/// Changes a rule; false when the partner has no such rule.
pub async fn update_rule(tx: &mut Transaction<'static, Any>, partner_id: i64, rule_id: i64, rule: &RuleInput) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update notification_rule set action = $1, subscribe_ok = $2, all_types = $3, event_types = $4, customer_ids = $5, complete_on_recovery = $6 \
         where rule_id = $7 and partner_id = $8",
    )
    .bind(rule.action.as_str())
    .bind(i64::from(rule.subscribe_ok))
    .bind(i64::from(rule.all_types))
    .bind(rule.event_types.iter().map(|t| t.code()).collect::<Vec<_>>().join(","))
    .bind(join_ids(&rule.customer_ids))
    .bind(i64::from(rule.complete_on_recovery))
    .bind(rule_id)
    .bind(partner_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a rule.
pub async fn delete_rule(tx: &mut Transaction<'static, Any>, partner_id: i64, rule_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from notification_rule where rule_id = $1 and partner_id = $2")
        .bind(rule_id)
        .bind(partner_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// How many of these ids are the partner's customers (at most 500 at a time).
pub async fn count_customers(db: &Db, partner_id: i64, ids: &[i64]) -> Result<i64, sqlx::Error> {
    let (sql, args) = in_list("select count(*) from customer where partner_id = $1 and customer_id in", partner_id, ids);
    bind_all(sqlx::query(&sql), &args).fetch_one(&db.pool).await.and_then(|r| sqlx::Row::try_get(&r, 0))
}

/// The names of these customers of the partner (at most 500 at a time).
pub async fn customer_names(db: &Db, partner_id: i64, ids: &[i64]) -> Result<HashMap<i64, String>, sqlx::Error> {
    let (sql, args) = in_list("select customer_id, name from customer where partner_id = $1 and customer_id in", partner_id, ids);
    Ok(bind_all_as::<(i64, String)>(sqlx::query_as(&sql), &args).fetch_all(&db.pool).await?.into_iter().collect())
}

#[derive(sqlx::FromRow)]
struct ChoiceRow {
    customer_id: i64,
    name: String,
    matched: i64,
}

/// Up to 50 customers whose name contains `search`, by name.
pub async fn customer_choices(db: &Db, partner_id: i64, search: &str) -> Result<Vec<CustomerChoice>, sqlx::Error> {
    let pattern = format!("%{}%", like_escape(&search.trim().to_lowercase()));
    let rows: Vec<ChoiceRow> = sqlx::query_as(
        "select customer_id, name, matched from customer where partner_id = $1 and name_key like $2 escape '\\' order by name_key, customer_id limit 50",
    )
    .bind(partner_id)
    .bind(pattern)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|r| CustomerChoice { customer_id: r.customer_id, name: r.name, mapped: r.matched != 0 }).collect())
}

/// The first mapped customer by name, if any.
pub async fn first_mapped_customer(db: &Db, partner_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select customer_id from customer where partner_id = $1 and matched = 1 order by name_key, customer_id limit 1")
        .bind(partner_id)
        .fetch_optional(&db.pool)
        .await
}

/// A customer's name, if it is the partner's.
pub async fn customer_name(db: &Db, partner_id: i64, customer_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select name from customer where partner_id = $1 and customer_id = $2")
        .bind(partner_id)
        .bind(customer_id)
        .fetch_optional(&db.pool)
        .await
}

/// The company a customer's tickets go to: the company of its billing contract, else
/// its first linked company. None when the customer is not on the Customer Map.
pub async fn company_of(db: &Db, partner_id: i64, customer_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select coalesce((select c.contract_company_id from customer c join customer_link l on l.customer_id = c.customer_id and l.company_id = c.contract_company_id \
           where c.customer_id = $2 and c.partner_id = $1), (select min(company_id) from customer_link where partner_id = $1 and customer_id = $2))",
    )
    .bind(partner_id)
    .bind(customer_id)
    .fetch_one(&db.pool)
    .await
}
