-- Fails if invoice money differs between staging and the marts: per invoice currency, the
-- distinct ERP invoice lines of staging must sum to fct_invoice_lines, and every invoice's
-- subtotal must equal the sum of its lines.

-- an asset check of fct_invoice_lines in Dagster (the test reads more than one model)
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoice_lines'}}}) }}

with

staged_lines as (

    select
        invoice_line_source_id,
        max(invoice_source_id) as invoice_source_id,
        max(amount) as amount
    from {{ ref('stg_erp__invoice_lines') }}
    group by invoice_line_source_id

),

line_totals as (

    select
        (select count(*) from staged_lines) as staged_lines,
        (select count(*) from {{ ref('fct_invoice_lines') }}) as mart_lines,
        (select sum(amount) from staged_lines) as staged_amount,
        (select sum(amount) from {{ ref('fct_invoice_lines') }}) as mart_amount

),

line_mismatch as (

    select
        'lines' as check_name,
        cast(null as varchar) as invoice_source_id,
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

)

select * from line_mismatch
union all
select * from subtotal_mismatch
