-- History search (issue 16): a run's searchable words kept on the run itself — its summary,
-- who started it, and its lines' customers, records and reasons (each once, the first
-- 8,000 characters) — so a search walks the partner's runs newest first without probing
-- their lines. sqlite flavour; the other directory holds the same schema.
alter table run add column search_text text not null default '';
update run set search_text = lower(substr(summary || ' ' || started_by || coalesce((
    select ' ' || group_concat(t, ' ') from (
        select distinct customer_name || ' ' || record || ' ' || reason as t from run_line l where l.run_id = run.run_id
    )
), ''), 1, 8000));
