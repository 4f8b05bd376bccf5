-- Sign-in throttling slows guessing down instead of locking accounts: one row per account
-- (key = email) or client address (key = IP) with the attempts in the current window and
-- the earliest time the next attempt may check a password. An attempt claims its slot by
-- a conditional update before the password is checked, so parallel guesses cannot all
-- pass. Replaces the per-failure rows, which were counted after the check.
drop table sign_in_failure;
create table sign_in_throttle (
    scope text not null,
    key text not null,
    attempts bigint not null,
    next_at bigint not null,
    updated_at bigint not null,
    primary key (scope, key)
);
