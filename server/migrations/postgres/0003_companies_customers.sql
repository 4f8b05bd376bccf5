-- Companies discovered in the partner's Autotask, Taskbridge customers, the links
-- between them (the Customer Map), and background jobs with their progress.
-- PostgreSQL flavour; migrations/sqlite holds the same schema.

-- One row per Autotask company the latest discovery returned (or an earlier one did:
-- `missing` = 1 when the latest discovery no longer saw it).
create table autotask_company (
    partner_id bigint not null references partner (partner_id),
    company_id bigint not null,
    name text not null,
    -- Lower-cased name for search.
    name_key text not null,
    company_type bigint,
    type_label text not null,
    is_active bigint not null,
    address1 text,
    address2 text,
    city text,
    state text,
    postal_code text,
    country_id bigint,
    -- ISO 3166-1 alpha-2 from Autotask's Countries entity (null: no country set).
    country_code text,
    country_name text,
    phone text,
    web_address text,
    -- The active primary contact, if any.
    contact_id bigint,
    contact_first text,
    contact_last text,
    contact_email text,
    -- Why an import of this row would fail today (null: it would succeed).
    problem text,
    seen_at bigint not null,
    missing bigint not null default 0,
    -- null: never imported; 'imported' or 'failed' with the reason.
    import_status text,
    import_message text,
    import_at bigint,
    -- Customer Map state, kept by the matching pass: 0 unmatched, 1 suggested, 2 matched.
    match_state bigint not null default 0,
    primary key (partner_id, company_id)
);
create index autotask_company_by_name on autotask_company (partner_id, name_key, company_id);
create index autotask_company_by_state on autotask_company (partner_id, match_state, name_key, company_id);

create table customer (
    customer_id bigserial primary key,
    partner_id bigint not null references partner (partner_id),
    name text not null,
    -- Lower-cased name for search and sorting.
    name_key text not null,
    -- The backup platform's own id for the customer, when it registered it.
    external_ref text,
    address1 text not null default '',
    address2 text not null default '',
    city text not null default '',
    state text not null default '',
    postal_code text not null default '',
    country_code text not null,
    -- The data region (workload ring) the customer lives in, from its country.
    region text not null,
    admin_first text not null default '',
    admin_last text not null default '',
    admin_email text not null default '',
    -- 'autotask_import', 'customer_map' or 'api'.
    source text not null,
    -- The billing contract chosen on the Customer Map.
    contract_id bigint,
    contract_company_id bigint,
    contract_name text,
    -- Why the chosen contract was flagged (the partner confirmed it anyway), if it was.
    contract_flags text,
    contract_set_at bigint,
    contract_set_by text,
    created_at bigint not null,
    updated_at bigint not null,
    -- 1 when linked to an Autotask company (kept with the links, for fast map pages).
    matched bigint not null default 0
);
create index customer_by_partner on customer (partner_id, name_key, customer_id);
create index customer_by_matched on customer (partner_id, matched, name_key, customer_id);
create unique index customer_external_ref on customer (partner_id, external_ref) where external_ref is not null;

-- Customer ↔ Autotask company, by id (names at link time are kept to flag renames).
-- Each connected group is 1-to-1 or 1-to-many, never many-to-many (enforced in code).
create table customer_link (
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null references customer (customer_id),
    company_id bigint not null,
    customer_name_at_link text not null,
    company_name_at_link text not null,
    linked_at bigint not null,
    linked_by text not null,
    primary key (customer_id, company_id)
);
create index customer_link_by_company on customer_link (partner_id, company_id);
create index customer_link_by_customer on customer_link (partner_id, customer_id);

-- The matching pass's best suggestion per unmatched customer (exact or near name).
create table match_suggestion (
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null references customer (customer_id),
    company_id bigint not null,
    score bigint not null,
    reason text not null,
    primary key (partner_id, customer_id)
);
create index match_suggestion_by_company on match_suggestion (partner_id, company_id);

-- Long work (discover, import, push) with progress the pages poll.
create table job (
    job_id bigserial primary key,
    partner_id bigint not null references partner (partner_id),
    kind text not null,
    -- 'running', 'done', 'failed'
    state text not null,
    stage text not null default '',
    done bigint not null default 0,
    total bigint not null default 0,
    succeeded bigint not null default 0,
    failed bigint not null default 0,
    message text not null default '',
    started_by text not null,
    started_at bigint not null,
    heartbeat_at bigint not null,
    finished_at bigint
);
create index job_by_partner on job (partner_id, kind, job_id);
-- At most one running job of a kind per partner (two discoveries would race).
create unique index job_one_running on job (partner_id, kind) where state = 'running';
