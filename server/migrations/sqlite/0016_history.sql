-- History (issue 16): every run of a partner's integrations — who or what started it,
-- when, how it ended, its counts — and one line per record it skipped or failed, with
-- the reason. Written once, when the run ends. sqlite flavour; the other directory
-- holds the same schema.
create table run (
    run_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    kind text not null,
    -- 'user', 'schedule', 'token', 'webhook' or 'system'
    trigger_kind text not null,
    started_by text not null,
    started_at bigint not null,
    finished_at bigint not null,
    -- 'ok', 'partial' or 'failed'
    outcome text not null,
    done bigint not null default 0,
    skipped bigint not null default 0,
    failed bigint not null default 0,
    summary text not null,
    retry_of bigint references run (run_id)
);
-- Newest first, per partner, and per partner and kind (the History page's filters).
create index run_by_partner on run (partner_id, run_id);
create index run_by_kind on run (partner_id, kind, run_id);
create index run_by_start on run (partner_id, started_at);

create table run_line (
    line_id integer primary key autoincrement,
    run_id bigint not null references run (run_id),
    partner_id bigint not null references partner (partner_id),
    -- 'failed' or 'skipped'
    outcome text not null,
    customer_id bigint,
    customer_name text not null default '',
    record text not null default '',
    -- What a retry needs to find the record again: an id (company, contact, customer) and
    -- a key (a product); left empty where a retry cannot pick the record out.
    record_id bigint,
    record_key text not null default '',
    reason text not null
);
create index run_line_by_run on run_line (run_id, line_id);
-- A customer's runs (the History filter, later its timeline).
create index run_line_by_customer on run_line (partner_id, customer_id, run_id);
