//! Ticket settings, Partner Notifications and the event log. Every signed-in user of the
//! partner may manage tickets and rules (technicians configure queues); the connection
//! itself stays admin-only.

use crate::error::AppError;
use crate::types::tickets::{CustomerChoice, EventPage, EventQuery, NotificationRule, RuleInput, TestTicket, TicketPicklists, TicketSettings};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The partner's ticket settings.
#[server(prefix = "/rpc", endpoint = "get_ticket_settings")]
pub async fn get_ticket_settings() -> Result<TicketSettings, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.settings(user.partner_id).await
}

/// Saves the ticket settings.
#[server(prefix = "/rpc", endpoint = "save_ticket_settings", input = Json)]
pub async fn save_ticket_settings(settings: TicketSettings) -> Result<TicketSettings, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.save_settings(&user, settings).await
}

/// "Retrieve": queues, priorities and statuses from the partner's Autotask.
#[server(prefix = "/rpc", endpoint = "retrieve_ticket_picklists")]
pub async fn retrieve_ticket_picklists() -> Result<TicketPicklists, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.picklists(user.partner_id).await
}

/// The partner's notification rules.
#[server(prefix = "/rpc", endpoint = "list_rules")]
pub async fn list_rules() -> Result<Vec<NotificationRule>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.rules(user.partner_id).await
}

/// Creates (no id) or changes a rule.
#[server(prefix = "/rpc", endpoint = "save_rule", input = Json)]
pub async fn save_rule(rule_id: Option<i64>, rule: RuleInput) -> Result<NotificationRule, AppError> {
    let user = crate::auth::require_user()?;
    let tickets = crate::services::services()?.tickets;
    match rule_id {
        Some(id) => tickets.update_rule(&user, id, rule).await,
        None => tickets.create_rule(&user, rule).await,
    }
}

/// Deletes a rule.
#[server(prefix = "/rpc", endpoint = "delete_rule")]
pub async fn delete_rule(rule_id: i64) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.delete_rule(&user, rule_id).await
}

/// Customers whose name contains `search`.
#[server(prefix = "/rpc", endpoint = "customer_choices")]
pub async fn customer_choices(search: String) -> Result<Vec<CustomerChoice>, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.customer_choices(user.partner_id, search).await
}

/// "Send test ticket".
#[server(prefix = "/rpc", endpoint = "send_test_ticket")]
pub async fn send_test_ticket(customer_id: Option<i64>) -> Result<TestTicket, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.test_ticket(&user, customer_id).await
}

/// A page of the event log.
#[server(prefix = "/rpc", endpoint = "list_events", input = Json)]
pub async fn list_events(query: EventQuery) -> Result<EventPage, AppError> {
    let user = crate::auth::require_user()?;
    crate::services::services()?.tickets.events(user.partner_id, query).await
}
