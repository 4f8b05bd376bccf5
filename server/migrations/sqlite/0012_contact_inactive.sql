-- Whether the primary contact discovery found is inactive in Autotask: the import and
-- the Customer Map's "Create customer" refuse such a company, as the preview says.
alter table autotask_company add column contact_inactive bigint not null default 0;
