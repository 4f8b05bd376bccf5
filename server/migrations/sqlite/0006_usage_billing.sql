-- Billing (issue 6), first part: usage reported by the backup platform, and each
-- product's Autotask service and rounding. sqlite flavour.

-- The current quantity of a product for a customer in a billing period (YYYY-MM).
-- One row per (customer, product, period): a repeat report replaces the quantity.
create table usage_report (
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null references customer (customer_id),
    product text not null,
    period text not null,
    quantity real not null,
    -- When the platform measured it (storage); reports older than the stored one are ignored.
    measured_at bigint not null,
    received_at bigint not null,
    primary key (customer_id, product, period)
);
create index usage_by_partner_period on usage_report (partner_id, period, customer_id);

-- Which Autotask service a product is billed as (null service: "Do not map"), and how
-- its quantity is rounded to whole units.
create table product_mapping (
    partner_id bigint not null references partner (partner_id),
    product text not null,
    service_id bigint,
    service_name text,
    -- 'up', 'nearest' or 'down', to a multiple of unit_size.
    rounding text not null default 'up',
    unit_size real not null default 1,
    updated_at bigint not null,
    updated_by text not null,
    primary key (partner_id, product)
);
