-- When a partner's usage is pushed automatically (with a "Synchronize with Autotask"
-- notification), and the approval threshold scheduled pushes hold above. postgres flavour.
create table billing_schedule (
    partner_id bigint primary key references partner (partner_id),
    every_hours bigint not null default 24,
    hold_above bigint,
    -- Claimed atomically by the instance that runs it (null: due now).
    next_run_at bigint,
    updated_at bigint not null,
    updated_by text not null
);
