//! "Send test ticket": opens, notes and completes one ticket with the partner's
//! settings, reporting each step, so a partner sees what real alerts will look like.

use super::autotask::{fetch_picklists, note_once, resolve, ticket_body, ResolveError, TicketFacts};
use crate::autotask::client::AutotaskClient;
use crate::autotask::entities::Ticket;
use crate::autotask::error::AutotaskError;
use crate::db::{now_ms, tickets as store, Db};
use crate::error::SqlxResultExt;
use crate::services::connection::SqlAutotaskSettings;
use crate::services::history::{Finished, History};
use app::error::AppError;
use app::types::history::{RunKind, RunLine};
use app::types::tickets::{ticket_link, TestTicket};
use app::types::CurrentUser;
use serde_json::{json, Value};

/// Sends the test ticket to `customer_id`, or to the first mapped customer, and records
/// the attempt in the History (a refusal before anything is sent is not a run).
pub(super) async fn send(db: &Db, connections: &SqlAutotaskSettings, actor: &CurrentUser, customer_id: Option<i64>) -> Result<TestTicket, AppError> {
    let started_at = now_ms();
    let (log_key, span) = crate::services::history::log_span(RunKind::TestTicket);
    let (test, customer_id, name) = tracing::Instrument::instrument(attempt(db, connections, actor, customer_id), span).await?;
    let summary = match (&test.ok, test.steps.last()) {
        (true, _) => {
            format!("Test ticket {} sent to {name}.", test.ticket_number.clone().or(test.ticket_id.map(|id| id.to_string())).unwrap_or_default())
        }
        (false, Some(step)) => format!("Test ticket for {name}: {step}"),
        (false, None) => format!("Test ticket for {name} failed."),
    };
    let lines = if test.ok { Vec::new() } else { vec![RunLine::failed(Some(customer_id), name.clone(), "Ticket", summary.clone())] };
    let run = Finished {
        kind: RunKind::TestTicket,
        started_by: &actor.email,
        started_at,
        stopped: false,
        done: i64::from(test.ok),
        skipped: 0,
        failed: i64::from(!test.ok),
        summary: &summary,
        retry_of: None,
        log_key: &log_key,
    };
    History::new(db.clone()).record(actor.partner_id, run, &lines).await;
    Ok(test)
}

/// Sends it: the result, with the customer it went to.
async fn attempt(
    db: &Db,
    connections: &SqlAutotaskSettings,
    actor: &CurrentUser,
    customer_id: Option<i64>,
) -> Result<(TestTicket, i64, String), AppError> {
    let partner_id = actor.partner_id;
    let settings = store::settings(db, partner_id).await.internal()?;
    if settings.do_not_map {
        return Err(AppError::invalid(
            "queue",
            "Ticketing is off: the queue is set to \u{201c}Do not map\u{201d}. Choose a queue under Ticket settings first.",
        ));
    }
    let customer_id = match customer_id {
        Some(id) => id,
        None => store::first_mapped_customer(db, partner_id).await.internal()?.ok_or_else(|| {
            AppError::invalid("customer_id", "No customer is mapped to an Autotask company yet. Map one on the Customer Map first.")
        })?,
    };
    let name = store::customer_name(db, partner_id, customer_id).await.internal()?.ok_or(AppError::NotFound)?;
    let company_id = store::company_of(db, partner_id, customer_id)
        .await
        .internal()?
        .ok_or_else(|| AppError::invalid("customer_id", format!("{name} is not mapped to an Autotask company. Map it on the Customer Map first.")))?;
    let client = connections.client(partner_id).await?;
    let client: &AutotaskClient = &client;
    let web_url = crate::db::connection::web_url(db, partner_id).await.internal()?;
    let mut steps = Vec::new();
    let fail = |mut steps: Vec<String>, what: &str, e: AutotaskError, ticket: Option<(i64, Option<String>)>| {
        steps.push(format!("{what} failed: {e}"));
        TestTicket { ok: false, steps, ticket_id: ticket.as_ref().map(|t| t.0), ticket_number: ticket.and_then(|t| t.1), link: None }
    };
    let lists = match fetch_picklists(client).await {
        Ok(l) => l,
        Err(e) => return Ok((fail(steps, "Reading your ticket picklists", e, None), customer_id, name)),
    };
    let resolved = match resolve(&settings, &lists) {
        Ok(r) => r,
        Err(ResolveError::DoNotMap) => return Err(AppError::invalid("queue", "Ticketing is off: the queue is set to \u{201c}Do not map\u{201d}.")),
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
        Err(e) => return Ok((fail(steps, "Creating the ticket", e, None), customer_id, name)),
    };
    let number = client.get::<Ticket>(ticket_id).await.ok().flatten().and_then(|t| t.ticket_number);
    steps.push(format!("Opened ticket {} in {name}'s company ({company_id}).", number.clone().unwrap_or_else(|| ticket_id.to_string())));
    if let Err(e) =
        note_once(client, ticket_id, &format!("taskbridge-test-{now}"), false, "Test note", "Taskbridge can add notes to this ticket.").await
    {
        return Ok((fail(steps, "Adding a note", e, Some((ticket_id, number))), customer_id, name));
    }
    steps.push("Added a note.".into());
    if let Err(e) = client.patch("Tickets", &json!({"id": ticket_id, "status": resolved.status_complete})).await {
        return Ok((fail(steps, "Completing the ticket", e, Some((ticket_id, number))), customer_id, name));
    }
    steps.push(format!("Completed it with the status \u{201c}{}\u{201d}.", settings.status_complete.label));
    Ok((TestTicket { ok: true, steps, ticket_id: Some(ticket_id), ticket_number: number, link: ticket_link(&web_url, ticket_id) }, customer_id, name))
}
