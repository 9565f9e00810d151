-- The outbox's audit trail (marts.fct_billing_batch_events): the latest status changes of the
-- batches in scope.
select
    e.event_at,
    e.batch_key,
    e.billing_period as period,
    e.legal_entity,
    e.event_type as event,
    e.from_status,
    e.to_status,
    e.actor,
    e.run_id,
    e.detail_json as detail
from marts.fct_billing_batch_events as e
left join marts.dim_clients as clients on clients.source_id = e.account_source_id
left join marts.dim_legal_entities as entities on entities.legal_entity = e.legal_entity
where
    (len($legal_entity) = 0 or list_contains($legal_entity, e.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and ($period_start is null or e.billing_period >= strftime($period_start, '%Y-%m'))
    and ($period_end is null or e.billing_period <= strftime($period_end, '%Y-%m'))
order by e.event_at desc, e.event_id
limit 500
