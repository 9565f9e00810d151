-- The page filters over marts.reconciliation_records aliased r (a predicate): legal entity,
-- region (the legal entity's), client, practice (the worker's, through the facts; read only
-- when a practice is chosen), period of the record date. Shared by recon_records and
-- recon_summary so both narrow the same records.
    (len($legal_entity) = 0 or list_contains($legal_entity, r.legal_entity))
    and (
        len($region) = 0
        or r.legal_entity in (
            select e.legal_entity
            from marts.dim_legal_entities as e
            where list_contains($region, e.region)
        )
    )
    and (
        len($client) = 0
        or r.client_id in (
            select c.client_id
            from marts.dim_clients as c
            where list_contains($client, c.client_name)
        )
    )
    and (
        len($practice) = 0
        or r.record_id in (
            select t.time_entry_id
            from marts.fct_time_entries as t
            inner join marts.dim_resources as w using (resource_id)
            where len($practice) > 0 and list_contains($practice, w.practice)
            union all
            select x.expense_id
            from marts.fct_expenses as x
            inner join marts.dim_resources as w using (resource_id)
            where len($practice) > 0 and list_contains($practice, w.practice)
        )
    )
    and ($period_start is null or r.record_date >= $period_start)
    and ($period_end is null or r.record_date <= $period_end)
