-- Fails for every record the reconciliation should hold but does not: time entries
-- approved by the as-of date and billable, Concur expenses approved (extracted) by then,
-- and every record an invoice issued by then bills, each by its correlation id.

-- an asset check of reconciliation_records in Dagster (the test reads several models)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'reconciliation_records'}},
}) }}

with

expected as (

    select
        correlation_id,
        'approved billable time entry' as why
    from {{ ref('fct_time_entries') }}
    where is_approved and is_billable
    union all
    select
        correlation_id,
        'approved expense' as why
    from {{ ref('fct_expenses') }}
    where approved_at < {{ as_of_end() }} and batch_date <= {{ as_of_date() }}
    union all
    select
        line_records.correlation_id,
        'billed on an invoice' as why
    from {{ ref('fct_invoice_line_records') }} as line_records
    inner join {{ ref('fct_invoice_lines') }} as invoice_lines
        on line_records.invoice_line_id = invoice_lines.invoice_line_id
    inner join {{ ref('fct_invoices') }} as invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    where invoices.invoice_date <= {{ as_of_date() }}

),

reconciled as (

    select correlation_id from {{ ref('reconciliation_records') }}

)

select expected.*
from expected
left join reconciled
    on expected.correlation_id = reconciled.correlation_id
where reconciled.correlation_id is null
