-- Ticketing (issue 5): ticket settings, Partner Notification rules, incidents (one
-- Autotask ticket each), the dispatcher's per-partner lease, and what was done with
-- each event. postgres flavour.

-- The partner's ticket settings. A null id means "the default, found by its label in
-- the partner's picklist" (Managed Services Alerts / Medium / New / Complete).
create table ticket_settings (
    partner_id bigint primary key references partner (partner_id),
    subject_prefix text not null default '',
    -- 1 = "Do not map": no tickets at all, whatever the rules say.
    queue_do_not_map integer not null default 0,
    queue_id bigint,
    queue_label text,
    priority_id bigint,
    priority_label text,
    status_new_id bigint,
    status_new_label text,
    status_complete_id bigint,
    status_complete_label text,
    -- At most one note per incident per this many minutes (repeats are counted).
    note_interval_minutes bigint not null default 15,
    updated_at bigint not null,
    updated_by text not null
);

-- Partner Notification rules.
create table notification_rule (
    rule_id bigserial primary key,
    partner_id bigint not null references partner (partner_id),
    -- 'ticket' (Open an Autotask ticket) or 'sync' (Synchronize with Autotask).
    action text not null,
    subscribe_ok integer not null default 0,
    all_types integer not null default 1,
    -- Comma-separated event types when all_types = 0.
    event_types text not null default '',
    -- Comma-separated customer ids; empty = every customer.
    customer_ids text not null default '',
    complete_on_recovery integer not null default 1,
    created_at bigint not null,
    created_by text not null
);
create index notification_rule_by_partner on notification_rule (partner_id);

-- An incident: customer + device + event type, from its first failure until recovery.
-- One Autotask ticket each; its externalID is 'taskbridge-incident-<incident_id>'.
create table incident (
    incident_id bigserial primary key,
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null references customer (customer_id),
    device text not null,
    event_type text not null,
    -- customer_id + device (case-folded) + event_type: at most one open incident each.
    incident_key text not null,
    -- open | completed | closed_in_autotask | handed_off | failed
    state text not null default 'open',
    company_id bigint,
    opening_event_id bigint not null,
    ticket_id bigint,
    ticket_number text,
    -- The status the ticket was created with (a different one means a technician acted).
    created_status bigint,
    -- Set before the create call: a retry looks the ticket up by externalID first.
    create_attempted integer not null default 0,
    opened_at bigint not null,
    ticket_created_at bigint,
    last_event_at bigint not null,
    repeats bigint not null default 0,
    pending_repeats bigint not null default 0,
    last_note_at bigint,
    -- When the pending repeats' note is due (null: nothing pending).
    note_due_at bigint,
    -- Set before a note/completion call: its marker, so a retry can find it.
    write_marker text,
    complete_on_recovery integer not null default 1,
    closed_at bigint,
    close_event_id bigint,
    problem text
);
create unique index incident_one_open on incident (partner_id, incident_key) where state = 'open';
create index incident_by_partner on incident (partner_id, incident_id);
create index incident_notes_due on incident (note_due_at) where note_due_at is not null;

-- What was done with each event.
alter table event add column incident_id bigint;
alter table event add column ticket_id bigint;
alter table event add column ticket_number text;
alter table event add column dispatched_at bigint;
create index event_pending_by_partner on event (partner_id, dispatch_state, event_id);
create index event_by_incident on event (incident_id, dispatch_state);

-- One dispatcher at a time per partner (several instances share PostgreSQL), and the
-- partner's dispatch health for the console.
create table dispatch_lease (
    partner_id bigint primary key references partner (partner_id),
    holder text not null,
    expires_at bigint not null,
    retry_at bigint,
    last_error text,
    last_error_at bigint
);
