-- Billing batches of the ERP outbox (marts.fct_billing_batches, docs/design.md §6) with their
-- status, control totals (batch currency), ERP document and the ERP's last message.
select
    b.batch_key,
    b.billing_period as period,
    b.outbox_status as status,
    clients.client_name,
    b.account_source_id as client_ref,
    b.contract_source_id as contract_ref,
    b.legal_entity,
    b.currency,
    b.line_count,
    b.total_quantity as hours,
    b.total_amount as amount,
    b.expected_tax,
    b.attempts,
    b.erp_adapter,
    b.erp_document_id,
    b.erp_number,
    b.erp_state,
    b.last_error,
    b.mismatch_reason,
    b.frozen_at,
    b.sent_at,
    b.reconciled_at,
    b.next_attempt_at,
    b.updated_at
from marts.fct_billing_batches as b
left join marts.dim_clients as clients on clients.source_id = b.account_source_id
left join marts.dim_legal_entities as entities on entities.legal_entity = b.legal_entity
where
    (len($legal_entity) = 0 or list_contains($legal_entity, b.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and ($period_start is null or b.billing_period >= strftime($period_start, '%Y-%m'))
    and ($period_end is null or b.billing_period <= strftime($period_end, '%Y-%m'))
order by
    case b.outbox_status
        when 'dead_letter' then 0 when 'mismatch' then 1 when 'failed_retryable' then 2
        when 'ready' then 3 when 'sent' then 4 else 5
    end,
    b.billing_period desc,
    b.updated_at desc
