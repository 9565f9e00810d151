-- Fails if invoice money differs between staging and the marts: the distinct legacy ERP
-- invoice lines of staging (less those of invoices held out for an implausible date) must sum
-- to fct_invoice_lines' legacy lines, and every invoice whose subtotal (legacy or written back)
-- differs from the sum of its lines must be a subtotal_differs_from_lines exception, and no
-- other invoice (firm data: lines not landed yet, an ERP header and lines disagreeing).

-- an asset check of fct_invoice_lines in Dagster (the test reads more than one model)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'fct_invoice_lines'}},
}) }}

with

held_out as (

    select source_id from {{ ref('int_record_date_exceptions') }}
    where source_entity = 'invoices'

),

staged_lines as (

    select
        staged.invoice_line_source_id,
        max(staged.invoice_source_id) as invoice_source_id,
        max(staged.amount) as amount
    from {{ ref('stg_erp__invoice_lines') }} as staged
    -- lines of the invoices known at the as-of date (staging dates invoices, not lines), less
    -- those of invoices held out of every figure for an implausible date
    where
        staged.invoice_source_id in (
            select invoices.invoice_source_id from {{ ref('stg_erp__invoices') }} as invoices
        )
        and staged.invoice_source_id not in (select held_out.source_id from held_out)
    group by staged.invoice_line_source_id

),

-- the lines of the legacy export (write-back lines come from the ERP read-back instead)
legacy_mart_lines as (

    select amount from {{ ref('fct_invoice_lines') }}
    where invoice_origin = 'legacy_export'

),

line_totals as (

    select
        (select count(*) from staged_lines) as staged_lines,
        (select count(*) from legacy_mart_lines) as mart_lines,
        (select sum(amount) from staged_lines) as staged_amount,
        (select sum(amount) from legacy_mart_lines) as mart_amount

),

line_mismatch as (

    select
        'lines' as check_name,
        cast(null as {{ type_text() }}) as invoice_source_id,
        staged_amount as expected_amount,
        mart_amount as actual_amount
    from line_totals
    where staged_lines != mart_lines or staged_amount is distinct from mart_amount

),

invoice_lines as (

    select
        invoice_source_id,
        sum(amount) as lines_amount
    from {{ ref('fct_invoice_lines') }}
    group by invoice_source_id

),

subtotal_mismatch as (

    select
        'subtotal' as check_name,
        invoices.source_id as invoice_source_id,
        invoices.subtotal as expected_amount,
        coalesce(invoice_lines.lines_amount, 0) as actual_amount
    from {{ ref('fct_invoices') }} as invoices
    left join invoice_lines
        on invoices.source_id = invoice_lines.invoice_source_id
    where invoices.subtotal != coalesce(invoice_lines.lines_amount, 0)

),

excepted_invoices as (

    select source_id as invoice_source_id from {{ ref('billing_exceptions') }}
    where source_entity = 'invoices' and reason = 'subtotal_differs_from_lines'

),

subtotal_exception_mismatch as (

    select
        'subtotal' as check_name,
        coalesce(
            subtotal_mismatch.invoice_source_id, excepted_invoices.invoice_source_id
        ) as invoice_source_id,
        subtotal_mismatch.expected_amount,
        subtotal_mismatch.actual_amount
    from subtotal_mismatch
    full outer join excepted_invoices
        on subtotal_mismatch.invoice_source_id = excepted_invoices.invoice_source_id
    where
        subtotal_mismatch.invoice_source_id is null
        or excepted_invoices.invoice_source_id is null

)

select * from line_mismatch
union all
select * from subtotal_exception_mismatch
