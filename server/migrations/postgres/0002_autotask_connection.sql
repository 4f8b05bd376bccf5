-- Each partner's Autotask API connection. The secret is sealed with the master key
-- (AES-256-GCM, bound to the partner) and never leaves the server in clear.
create table autotask_connection (
    partner_id bigint primary key references partner (partner_id),
    username text not null,
    integration_code text not null,
    secret_sealed text not null,
    -- A REST base URL that replaces zone discovery (null: discover from the username).
    zone_override text,
    -- The zone last discovered (or the override), shown on the Setup page.
    zone_name text,
    zone_url text,
    zone_web_url text,
    -- The last "Test connection": ok 1/0, the cause code and message, what it could see.
    last_test_at bigint,
    last_test_ok bigint,
    last_test_cause text,
    last_test_message text,
    last_test_companies bigint,
    last_test_contacts bigint,
    last_test_contracts bigint,
    updated_at bigint not null,
    updated_by text not null
);
