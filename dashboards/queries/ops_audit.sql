-- The outbox's audit trail (ops.audit_log): the latest status changes of the batches in scope.
select
    a.event_at,
    a.batch_key,
    o.period,
    o.legal_entity,
    a.event,
    a.from_status,
    a.to_status,
    a.actor,
    a.run_id,
    cast(a.detail as varchar) as detail
from ops.audit_log as a
left join ops.erp_outbox as o using (batch_key)
left join marts.dim_clients as clients on clients.source_id = o.client_ref
left join marts.dim_legal_entities as entities on entities.legal_entity = o.legal_entity
where
    (len($legal_entity) = 0 or list_contains($legal_entity, o.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and ($period_start is null or o.period >= strftime($period_start, '%Y-%m'))
    and ($period_end is null or o.period <= strftime($period_end, '%Y-%m'))
order by a.event_at desc, a.event_id
limit 500
