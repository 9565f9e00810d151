-- One billing batch (marts.fct_billing_batches): status, control totals, ERP document.
select
    b.batch_key,
    b.billing_period as period,
    b.outbox_status as status,
    b.account_source_id as client_ref,
    b.contract_source_id as contract_ref,
    b.legal_entity,
    b.currency,
    b.line_count,
    b.total_quantity,
    b.total_amount,
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
    b.updated_at
from marts.fct_billing_batches as b
where b.batch_key = $batch_key
