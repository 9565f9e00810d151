-- The records behind a reconciliation status and reason (marts.reconciliation_records): PSA
-- side against ERP side, largest differences first, at most 2,000 rows. Empty status or
-- reason lists mean every one but matched. Filters as in recon_summary.
with

picked as (
    select r.*
    from marts.reconciliation_records as r
    where
        (
            (len($status) = 0 and r.reconciliation_status != 'matched')
            or list_contains($status, r.reconciliation_status)
        )
        and (len($reason) = 0 or list_contains($reason, r.difference_reason))
        and
        --@include reconciliation_filters
    order by
        abs(r.amount_difference) desc nulls last,
        abs(r.hours_difference) desc nulls last,
        r.record_date,
        r.source_id
    limit 2000
)

select
    p.reconciliation_status,
    p.difference_reason,
    p.billing_reason,
    p.posting_reason,
    p.record_kind,
    p.source_system,
    p.source_id,
    p.correlation_id,
    p.record_date,
    p.legal_entity,
    clients.client_name,
    p.project_code,
    p.billing_method,
    p.exception_reasons,
    p.currency,
    p.psa_hours,
    p.erp_hours,
    p.hours_difference,
    p.resolved_bill_rate,
    p.billed_rate,
    p.psa_amount,
    p.erp_amount,
    p.amount_difference,
    p.batch_key,
    p.invoice_number,
    p.is_invoice_released,
    p.billing_line_count,
    p.journal_number,
    p.concur_posted_amount,
    p.erp_posted_amount,
    p.posted_amount_difference,
    p.first_passing_invoice_date
from picked as p
left join marts.dim_clients as clients on clients.client_id = p.client_id
order by
    abs(p.amount_difference) desc nulls last,
    abs(p.hours_difference) desc nulls last,
    p.record_date,
    p.source_id
