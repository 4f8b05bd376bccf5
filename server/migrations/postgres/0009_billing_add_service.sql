-- Whether a push may add a mapped service to a billing contract that lacks it (Autotask
-- creates the contract service with the first adjustment). Off by default. postgres flavour.
alter table billing_schedule add column allow_add_service integer not null default 0;
