-- The audit trail of one billing batch (marts.fct_billing_batch_events): frozen, sent,
-- dead-lettered, retried, read back, reconciled, in time order.
select
    event_at,
    event_type as event,
    from_status,
    to_status,
    actor,
    run_id,
    detail_json as detail
from marts.fct_billing_batch_events
where batch_key = $batch_key
order by event_at, event_id
