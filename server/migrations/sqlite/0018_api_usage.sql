-- Autotask API usage (issue 16): each partner's calls per hour by the feature that made
-- them, with thread-limit refusals, failures and the time Autotask took, and the hourly
-- budget Autotask reported (ThresholdInformation, shared by every integration of the
-- partner's Autotask). Every instance adds its own counts in small periodic batches.
-- sqlite flavour; the other directory holds the same schema.
create table api_usage (
    partner_id bigint not null references partner (partner_id),
    -- the hour, as milliseconds at its start (UTC)
    hour_start bigint not null,
    -- 'discovery', 'map', 'billing', 'tickets', 'sync', 'contacts', 'setup' or 'other'
    feature text not null,
    calls bigint not null default 0,
    -- refused with 429 (thread limit or the hourly threshold)
    throttled bigint not null default 0,
    -- 5xx, timeouts, malformed answers and other refusals
    failed bigint not null default 0,
    -- the sum of the calls' durations, and the slowest one
    latency_ms bigint not null default 0,
    slowest_ms bigint not null default 0,
    primary key (partner_id, hour_start, feature)
);
create table api_budget (
    partner_id bigint not null references partner (partner_id),
    hour_start bigint not null,
    -- the highest currentTimeframeRequestCount Autotask reported in the hour, and its threshold
    used bigint not null,
    threshold bigint not null,
    primary key (partner_id, hour_start)
);
-- An event sent back to the queue by the History's Retry failed names the run it retries,
-- so the dispatch round that handles it records its run as that run's retry.
alter table event add column retry_of_run bigint;
