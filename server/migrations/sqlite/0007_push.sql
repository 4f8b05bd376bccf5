-- Billing pushes (issue 6): each run and every line it wrote or refused. sqlite flavour.
create table push_run (
    push_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    period text not null,
    -- 'apply' or 'undo'
    kind text not null,
    -- 'running', 'done' or 'failed'
    state text not null default 'running',
    started_at bigint not null,
    started_by text not null,
    finished_at bigint,
    summary text,
    undo_of bigint
);
-- One push at a time per partner.
create unique index push_one_running on push_run (partner_id) where state = 'running';
create index push_by_partner on push_run (partner_id, push_id);

create table push_line (
    line_id integer primary key autoincrement,
    push_id bigint not null references push_run (push_id),
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null references customer (customer_id),
    product text not null,
    contract_id bigint,
    service_id bigint,
    contract_service_id bigint,
    before_units bigint,
    after_units bigint,
    unit_change bigint not null default 0,
    unit_price real not null default 0,
    -- 'applied', 'held', 'failed' or 'skipped'
    outcome text not null,
    reason text,
    written_at bigint not null
);
create index push_line_by_push on push_line (push_id, line_id);
