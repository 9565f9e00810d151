-- One ERP invoice (marts.fct_invoices) with its client, contract, amounts, release and
-- payment state, and the billing batch it came from (write-back invoices).
select
    i.invoice_id,
    i.source_system,
    i.source_id,
    i.correlation_id,
    i.invoice_number,
    i.invoice_origin,
    i.batch_key,
    i.customer_name,
    c.client_name,
    i.contract_source_id,
    i.project_code,
    i.legal_entity,
    i.currency,
    i.invoice_date,
    i.posting_period,
    i.approval_status,
    i.status,
    i.released_date,
    i.due_date,
    i.paid_date,
    i.payment_terms,
    i.is_released,
    i.is_paid,
    i.subtotal,
    i.tax_total,
    i.total,
    i.amount_paid,
    i.amount_remaining,
    i.total_reporting,
    i.reporting_currency,
    i.first_ingested_at,
    i.source_file,
    i.source_row_number
from marts.fct_invoices as i
left join marts.dim_clients as c on c.client_id = i.client_id
where i.correlation_id = $correlation_id
