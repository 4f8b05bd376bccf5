-- Instant updates for the customer sync: each partner's Autotask company webhook (the
-- callout Taskbridge registered, its secret sealed by the master key) and the callouts
-- it delivered, stored before they are answered and applied once. postgres flavour;
-- the other directory holds the same schema.

create table sync_webhook (
    partner_id bigint primary key references partner (partner_id),
    -- The callout URL's last segment: /hooks/autotask/{route_key} (random, unguessable).
    route_key text not null unique,
    -- Autotask's CompanyWebhooks id and webhookGUID (the callouts carry the GUID).
    webhook_id bigint not null,
    webhook_guid text not null,
    secret_sealed text not null,
    url text not null,
    registered_at bigint not null,
    registered_by text not null,
    -- When Autotask said it switched the callout off (null: it has not).
    deactivated_at bigint,
    callouts bigint not null default 0,
    last_callout_at bigint,
    bad_signatures bigint not null default 0,
    last_bad_signature_at bigint
);

create table sync_callout (
    callout_id bigserial primary key,
    partner_id bigint not null references partner (partner_id),
    webhook_guid text not null,
    sequence_number bigint not null,
    company_id bigint not null,
    action text not null,
    received_at bigint not null,
    -- An instance applying it holds it until then.
    claimed_until bigint,
    -- When it was applied (null: pending), and how: applied, superseded, failed.
    applied_at bigint,
    outcome text,
    unique (partner_id, webhook_guid, sequence_number)
);
create index sync_callout_pending on sync_callout (applied_at, callout_id);
create index sync_callout_by_company on sync_callout (partner_id, company_id, sequence_number);
