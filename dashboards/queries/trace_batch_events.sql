-- The audit trail of one billing batch (ops.audit_log): frozen, sent, dead-lettered, retried,
-- read back, reconciled, in time order.
select
    event_at,
    event,
    from_status,
    to_status,
    actor,
    run_id,
    cast(detail as varchar) as detail
from ops.audit_log
where batch_key = $batch_key
order by event_at, event_id
