-- The active customer and contract sync from Autotask (seed 004): each partner's sync
-- settings and high-water marks, the companies it follows (with the details a customer
-- gets: address, phones, email, web site) and their contracts. postgres flavour;
-- migrations/sqlite holds the same schema.

create table sync_settings (
    partner_id bigint primary key references partner (partner_id),
    customers_on bigint not null default 0,
    contracts_on bigint not null default 0,
    every_minutes bigint not null default 5,
    -- The newest lastTrackedModifiedDateTime (companies) and lastModifiedDateTime
    -- (contracts) applied, as Autotask wrote it; null: the next round reads everything.
    companies_mark text,
    contracts_mark text,
    -- Claimed atomically by the instance that runs the round (null: due now).
    next_round_at bigint,
    last_round_at bigint,
    -- ok, partial, failed or skipped, with the round's summary.
    last_outcome text,
    last_message text,
    updated_at bigint not null,
    updated_by text not null
);

-- One row per Autotask company the sync has seen qualify (an active Customer).
create table synced_company (
    partner_id bigint not null references partner (partner_id),
    company_id bigint not null,
    -- The Taskbridge customer it keeps up to date (null: none yet, e.g. it failed).
    customer_id bigint,
    name text not null,
    name_key text not null,
    address1 text not null default '',
    address2 text not null default '',
    city text not null default '',
    state text not null default '',
    postal_code text not null default '',
    country_code text not null default '',
    phone text not null default '',
    alternate_phone1 text not null default '',
    alternate_phone2 text not null default '',
    fax text not null default '',
    -- The primary contact's address (Autotask's company has no email of its own).
    email text not null default '',
    web_address text not null default '',
    -- 1 while it is an active Customer in Autotask; 0 once it stopped qualifying.
    qualifies bigint not null,
    -- synced, failed or skipped; the reason for the last two.
    sync_state text not null,
    reason text,
    -- What the latest sync changed, in words.
    changes text,
    -- poll, webhook or manual.
    sync_trigger text not null,
    modified_at text,
    synced_at bigint not null,
    contracts bigint not null default 0,
    -- When this row or its contracts were last written (the machine API's change feed).
    changed_at bigint not null default 0,
    primary key (partner_id, company_id)
);
create index synced_company_by_name on synced_company (partner_id, name_key, company_id);
create index synced_company_by_change on synced_company (partner_id, changed_at, company_id);
create index synced_company_by_customer on synced_company (partner_id, customer_id);

-- The contracts of qualifying companies.
create table synced_contract (
    partner_id bigint not null references partner (partner_id),
    contract_id bigint not null,
    company_id bigint not null,
    contract_name text not null,
    -- The services' vendor company, or "MSP Managed Services".
    vendor_name text not null,
    -- Ten-thousandths of the internal currency: the current period's price summed over
    -- the contract's service units.
    overall_cost bigint not null,
    -- The ISO code of that currency (Autotask's internal one), or '' when unknown.
    currency text not null default '',
    is_active bigint not null,
    sync_state text not null,
    reason text,
    changes text,
    sync_trigger text not null,
    modified_at text,
    synced_at bigint not null,
    primary key (partner_id, contract_id)
);
create index synced_contract_by_company on synced_contract (partner_id, company_id, contract_id);
