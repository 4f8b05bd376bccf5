-- A customer whose ticket work keeps failing while the partner's other customers go
-- through (a company deleted in Autotask, a refused value, a run of errors) is held
-- back with its own backoff, so it never blocks the others. Its events stay pending.
create table dispatch_hold (
    partner_id bigint not null references partner (partner_id),
    customer_id bigint not null,
    retry_at bigint not null,
    failures bigint not null,
    last_error text not null,
    since bigint not null,
    primary key (partner_id, customer_id)
);
