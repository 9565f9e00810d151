-- Billing batches in the ERP outbox (ops.erp_outbox, docs/design.md §6) with their status, control
-- totals (batch currency), ERP document and the ERP's last message.
select
    o.batch_key,
    o.period,
    o.status,
    clients.client_name,
    o.client_ref,
    o.contract_ref,
    o.legal_entity,
    o.currency,
    o.line_count,
    o.total_quantity as hours,
    o.total_amount as amount,
    o.expected_tax,
    o.attempts,
    o.erp_adapter,
    o.erp_document_id,
    o.erp_number,
    o.erp_state,
    o.last_error,
    o.mismatch_reason,
    o.frozen_at,
    o.sent_at,
    o.reconciled_at,
    o.next_attempt_at,
    o.updated_at
from ops.erp_outbox as o
left join marts.dim_clients as clients on clients.source_id = o.client_ref
left join marts.dim_legal_entities as entities on entities.legal_entity = o.legal_entity
where
    (len($legal_entity) = 0 or list_contains($legal_entity, o.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and ($period_start is null or o.period >= strftime($period_start, '%Y-%m'))
    and ($period_end is null or o.period <= strftime($period_end, '%Y-%m'))
order by
    case o.status
        when 'dead_letter' then 0 when 'mismatch' then 1 when 'failed_retryable' then 2
        when 'ready' then 3 when 'sent' then 4 else 5
    end,
    o.period desc,
    o.updated_at desc
