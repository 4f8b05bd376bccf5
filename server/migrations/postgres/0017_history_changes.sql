-- History, second part (issue 16): settings changes carry their before/after values and
-- the customer they concern (a Customer Map change shows on that customer's timeline);
-- each partner keeps its history for a number of days it chooses; the machine API reads
-- runs in the order they ended.
alter table audit_event add column changes text not null default '';
alter table audit_event add column customer_id bigint;
create index audit_event_by_id on audit_event (partner_id, audit_id);
create index audit_event_by_customer on audit_event (partner_id, customer_id, audit_id);
alter table partner add column history_days bigint not null default 400;
create index run_by_finish on run (partner_id, finished_at, run_id);
-- What the run's server log lines carry ("job_id=42", "push_id=7"), to find them from its page.
alter table run add column log_key text not null default '';
-- A customer's timeline reads its tickets and billing writes by customer.
create index incident_by_customer on incident (partner_id, customer_id, opened_at);
create index push_line_by_customer on push_line (partner_id, customer_id, written_at);
