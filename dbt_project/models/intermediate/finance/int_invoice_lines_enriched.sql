-- ERP invoice lines (latest export of each) with their invoice's state and currency.

with

exported as (

    select
        *,
        row_number() over (
            partition by invoice_line_source_id
            order by ingested_at desc, source_file desc, source_row_number desc
        ) as version_rank
    from {{ ref('stg_erp__invoice_lines') }}

),

lines as (

    select * from exported
    where version_rank = 1

),

invoices as (

    select * from {{ ref('int_invoices_enriched') }}

),

enriched as (

    select
        lines.invoice_line_source_id,
        lines.invoice_source_id,
        lines.line_number,
        lines.item,
        lines.description,
        lines.line_kind,
        lines.project_code,
        lines.billed_record_refs,
        lines.quantity,
        lines.unit_price,
        lines.amount,
        lines.tax_code,
        lines.tax_rate_percent,
        lines.tax_amount,
        invoices.currency,
        invoices.base_per_unit,
        invoices.contract_source_id,
        invoices.account_source_id,
        invoices.legal_entity,
        invoices.invoice_date,
        invoices.released_date,
        invoices.paid_date,
        invoices.created_at as invoice_created_at,
        coalesce(invoices.is_released, false) as is_released,
        coalesce(invoices.is_paid, false) as is_paid,
        lines.source_file,
        lines.source_row_number,
        lines.ingested_at
    from lines
    left join invoices
        on lines.invoice_source_id = invoices.invoice_source_id

)

select * from enriched
