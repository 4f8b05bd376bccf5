-- Backup events posted by the platform (POST /api/v1/events), stored before the answer
-- is sent. The sender's id makes a repeat the same event. PostgreSQL flavour.
create table event (
    event_id bigserial primary key,
    partner_id bigint not null references partner (partner_id),
    -- The sender's id for the event (idempotency key).
    external_id text not null,
    customer_id bigint not null references customer (customer_id),
    device text not null,
    job text not null default '',
    event_type text not null,
    severity text not null,
    message text not null,
    occurred_at bigint not null,
    received_at bigint not null,
    -- What was done with it: 'pending' until the dispatcher handles it.
    dispatch_state text not null default 'pending',
    dispatch_note text,
    unique (partner_id, external_id)
);
create index event_by_partner_time on event (partner_id, received_at, event_id);
create index event_pending on event (dispatch_state, event_id);
