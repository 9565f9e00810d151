-- Control totals per ERP batch (marts.reconciliation_control_totals): each invoice (and its
-- Deliver-to-Bill billing batch, for write-back invoices) and each expense journal, PSA /
-- Concur side against the ERP side, with the status and the first difference found. Amounts
-- in the batch currency. The period is the billing period (journals: the posting date).
select
    t.control_kind,
    t.control_status,
    t.difference_reason,
    t.batch_number,
    invoices.invoice_origin,
    invoices.batch_key,
    clients.client_name,
    t.project_code,
    t.billing_method,
    t.legal_entity,
    t.currency,
    t.billing_period_start_date,
    t.document_date,
    t.is_released,
    t.released_date,
    t.psa_record_count,
    t.erp_record_count,
    t.erp_line_count,
    t.psa_hours,
    t.erp_hours,
    t.hours_difference,
    t.psa_amount,
    t.erp_amount,
    t.amount_difference,
    t.psa_labour_amount,
    t.erp_labour_amount,
    t.psa_expense_amount,
    t.erp_expense_amount,
    t.concur_batch_id,
    t.batch_id
from marts.reconciliation_control_totals as t
left join marts.fct_invoices as invoices
    on t.control_kind = 'invoice' and invoices.invoice_id = t.batch_id
left join marts.dim_clients as clients on clients.client_id = t.client_id
left join marts.dim_legal_entities as entities on entities.legal_entity = t.legal_entity
where
    (len($legal_entity) = 0 or list_contains($legal_entity, t.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and (
        $period_start is null
        or coalesce(t.billing_period_start_date, t.document_date) >= $period_start
    )
    and (
        $period_end is null
        or coalesce(t.billing_period_start_date, t.document_date) <= $period_end
    )
order by
    case t.control_status
        when 'discrepancy' then 0 when 'timing' then 1 when 'explained' then 2 else 3
    end,
    abs(t.amount_difference) desc nulls last,
    t.document_date desc
