-- The exception queue (marts.billing_exceptions, docs/design.md §5): one row per (record, reason)
-- with its client, the worker's practice, days in the queue (first seen to the snapshot's
-- build date) and the record's age at the as-of date. Region is the legal entity's region.
-- Practice narrows to records with a worker (contract exceptions have none).
select
    e.owner_team,
    e.reason,
    e.severity,
    e.category,
    e.record_kind,
    e.source_system,
    e.source_id,
    e.correlation_id,
    e.detail,
    e.first_seen_date,
    greatest(date_diff('day', e.first_seen_date, $built_date), 0) as days_in_queue,
    case
        when date_diff('day', e.first_seen_date, $built_date) <= 7 then '0–7 days'
        when date_diff('day', e.first_seen_date, $built_date) <= 30 then '8–30 days'
        when date_diff('day', e.first_seen_date, $built_date) <= 90 then '31–90 days'
        else '> 90 days'
    end as queue_age,
    e.record_date,
    date_diff('day', e.record_date, e.as_of_date) as record_age_days,
    e.project_code,
    e.contract_source_id,
    clients.client_name,
    e.legal_entity,
    entities.region,
    e.employee_id,
    resources.practice,
    e.hours,
    e.amount,
    e.currency
from marts.billing_exceptions as e
left join marts.dim_legal_entities as entities using (legal_entity)
left join marts.dim_clients as clients using (client_id)
left join marts.dim_resources as resources using (employee_id)
where
    (len($legal_entity) = 0 or list_contains($legal_entity, e.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and (len($practice) = 0 or list_contains($practice, resources.practice))
    and ($period_start is null or e.record_date >= $period_start)
    and ($period_end is null or e.record_date <= $period_end)
order by
    case e.severity when 'high' then 0 when 'medium' then 1 else 2 end,
    e.first_seen_date,
    e.owner_team,
    e.reason,
    e.source_id
