-- Several instances work one partner at once. Each claims the customers it works in a
-- round (their events and notes stay in order, one instance at a time) and a share of
-- the partner's Autotask thread limit (3 calls per entity across every instance), all
-- short leases renewed while it works, so a dead instance's work is free in seconds.
create table dispatch_claim (
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null,
    holder text not null,
    expires_at bigint not null,
    primary key (partner_id, customer_id)
);
create index dispatch_claim_by_holder on dispatch_claim (partner_id, holder);

-- The instances working (or waiting to work) a partner: the thread limit and the
-- customers are shared among them.
create table dispatch_member (
    partner_id bigint not null references partner (partner_id),
    holder text not null,
    expires_at bigint not null,
    primary key (partner_id, holder)
);

-- Slot 0, 1 and 2 of the partner's thread limit, each held by at most one instance.
create table dispatch_slot (
    partner_id bigint not null references partner (partner_id),
    slot bigint not null,
    holder text not null,
    expires_at bigint not null,
    primary key (partner_id, slot)
);

-- The partner-wide lease is gone: what is left of it is the partner's pause.
alter table dispatch_lease rename to dispatch_pause;
alter table dispatch_pause drop column holder;
alter table dispatch_pause drop column expires_at;
