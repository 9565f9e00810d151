-- One billing batch of the ERP outbox (ops.erp_outbox): status, control totals, ERP document.
select
    o.batch_key,
    o.period,
    o.status,
    o.client_ref,
    o.contract_ref,
    o.legal_entity,
    o.currency,
    o.line_count,
    o.total_quantity,
    o.total_amount,
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
    o.updated_at
from ops.erp_outbox as o
where o.batch_key = $batch_key
