-- Foundation: partners (tenants), their users, sessions, sign-in throttling, API tokens,
-- and the audit history. SQLite flavour; migrations/postgres holds the same schema.
-- Timestamps are Unix milliseconds (bigint) so both databases compare them the same way.
-- Flags are bigint 0/1 rather than boolean: sqlx's Any driver decodes integers alike on both.

create table partner (
    partner_id integer primary key autoincrement,
    name text not null unique,
    created_at bigint not null
);

-- Emails are unique across partners: sign-in is by email alone.
create table app_user (
    user_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    email text not null unique,
    name text not null,
    role text not null check (role in ('admin', 'technician')),
    password_hash text not null,
    disabled bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    last_sign_in_at bigint
);
create index app_user_partner on app_user (partner_id);

-- Only a SHA-256 of the cookie value is stored: a leaked table opens no session.
create table session (
    session_id integer primary key autoincrement,
    token_hash text not null unique,
    user_id bigint not null references app_user (user_id),
    partner_id bigint not null references partner (partner_id),
    created_at bigint not null,
    last_seen_at bigint not null,
    expires_at bigint not null,
    client_ip text not null,
    user_agent text not null
);
create index session_by_user on session (user_id);

-- One row per failed sign-in; scope is 'account' (key = email) or 'address' (key = IP).
create table sign_in_failure (
    failure_id integer primary key autoincrement,
    scope text not null,
    key text not null,
    failed_at bigint not null
);
create index sign_in_failure_lookup on sign_in_failure (scope, key, failed_at);

create table api_token (
    token_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    name text not null,
    prefix text not null,
    token_hash text not null unique,
    created_by bigint not null references app_user (user_id),
    created_at bigint not null,
    last_used_at bigint,
    revoked_at bigint,
    revoked_by bigint references app_user (user_id)
);
create index api_token_partner on api_token (partner_id);

-- Who did what, per partner. Later capabilities (imports, pushes, tickets) write here too.
create table audit_event (
    audit_id integer primary key autoincrement,
    partner_id bigint not null references partner (partner_id),
    actor text not null,
    action text not null,
    summary text not null,
    created_at bigint not null
);
create index audit_event_partner on audit_event (partner_id, created_at);
