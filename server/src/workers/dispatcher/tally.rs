//! What a round did in Autotask, for the History: tickets opened, notes written, tickets
//! completed, and the events not sent or refused with why. A round that did any of it is
//! one "Ticket actions" run; a round that only counted repeats (nothing sent) is none.

use super::Pause;
use crate::services::history::{Finished, History};
use app::format::{count_of, thousands};
use app::types::history::{RunKind, RunLine};
use app::types::tickets::{EventRow, Outcome};
use std::sync::Mutex;

/// A ticket action, as the metrics and the round count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Opened,
    Noted,
    Completed,
    /// A recovery written as a note on a ticket left open.
    RecoveryNoted,
    /// Autotask refused the ticket's data.
    Refused,
}

impl Action {
    fn metric(self) -> &'static str {
        match self {
            Action::Opened => "opened",
            Action::Noted => "noted",
            Action::Completed => "completed",
            Action::RecoveryNoted => "recovery_noted",
            Action::Refused => "not_sent",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    opened: i64,
    noted: i64,
    completed: i64,
    not_sent: i64,
    failed: i64,
    lines: Vec<RunLine>,
    /// The run whose refused events this round handled again (Retry failed).
    retry_of: Option<i64>,
}

/// A round's tally.
#[derive(Debug, Default)]
pub(super) struct Tally(Mutex<Counts>);

impl Tally {
    fn with(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// Counts an action done in Autotask (and in the metrics).
    pub(super) fn acted(&self, action: Action) {
        crate::metrics::ticket(action.metric());
        self.with(|c| match action {
            Action::Opened => c.opened += 1,
            Action::Noted | Action::RecoveryNoted => c.noted += 1,
            Action::Completed => c.completed += 1,
            Action::Refused => {}
        });
    }

    /// Notes an event the History's Retry failed sent back: this round is that run's retry.
    pub(super) fn handling(&self, ev: &EventRow) {
        if let Some(run) = ev.retry_of {
            self.with(|c| c.retry_of = Some(run));
        }
    }

    /// Keeps an event that was not sent or was refused, with why.
    pub(super) fn finished(&self, ev: &EventRow, outcome: Outcome, note: &str) {
        let record = format!("Event {} ({})", ev.event_id, if ev.device.is_empty() { "no device" } else { &ev.device });
        let line = match outcome {
            Outcome::NotSent => RunLine::skipped(Some(ev.customer_id), ev.customer_name.clone(), record, note),
            Outcome::Failed => RunLine::failed(Some(ev.customer_id), ev.customer_name.clone(), record, note),
            _ => return,
        };
        let line = RunLine { record_id: Some(ev.event_id), ..line };
        self.with(|c| {
            if outcome == Outcome::Failed {
                c.failed += 1;
            } else {
                c.not_sent += 1;
            }
            if c.lines.len() < crate::services::history::MAX_LINES {
                c.lines.push(line);
            }
        });
    }

    /// Records the round as a run, if it did anything in Autotask or kept anything back.
    pub(super) async fn record(&self, history: &History, partner_id: i64, (started_at, log_key): (i64, &str), outcome: Result<(), &Pause>) {
        let c = std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let done = c.opened + c.noted + c.completed;
        if done + c.not_sent + c.failed == 0 {
            return;
        }
        let mut parts = Vec::new();
        for (n, one, many) in [
            (c.opened, "ticket opened", "tickets opened"),
            (c.noted, "note written", "notes written"),
            (c.completed, "ticket completed", "tickets completed"),
        ] {
            if n > 0 {
                parts.push(count_of(n, one, many));
            }
        }
        if c.not_sent > 0 {
            parts.push(format!("{} not sent", count_of(c.not_sent, "event", "events")));
        }
        if c.failed > 0 {
            parts.push(format!("{} refused by Autotask", thousands(c.failed)));
        }
        let mut summary = parts.join(", ");
        if let Err(p) = outcome {
            summary.push_str(&format!("; then paused: {}", p.message));
        }
        let run = Finished {
            kind: RunKind::Tickets,
            started_by: "system",
            started_at,
            stopped: outcome.is_err(),
            done,
            skipped: c.not_sent,
            failed: c.failed,
            summary: &summary,
            retry_of: c.retry_of,
            log_key,
        };
        history.record(partner_id, run, &c.lines).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64) -> EventRow {
        EventRow { event_id: id, customer_id: 7, customer_name: "Acme".into(), device: "srv-1".into(), ..EventRow::default() }
    }

    #[test]
    fn only_refused_and_unsent_events_keep_a_line() {
        let t = Tally::default();
        t.acted(Action::Opened);
        t.acted(Action::RecoveryNoted);
        t.finished(&event(1), Outcome::Opened, "Opened a ticket.");
        t.finished(&event(2), Outcome::NotSent, "Not sent: customer not mapped.");
        t.finished(&event(3), Outcome::Failed, "Autotask refused the ticket: bad queue");
        let c = t.0.lock().unwrap();
        assert_eq!((c.opened, c.noted, c.completed, c.not_sent, c.failed), (1, 1, 0, 1, 1));
        assert_eq!(c.lines.len(), 2);
        assert_eq!((c.lines[0].outcome.as_str(), c.lines[0].record_id), ("skipped", Some(2)));
        assert_eq!(c.lines[1].record, "Event 3 (srv-1)");
    }
}
