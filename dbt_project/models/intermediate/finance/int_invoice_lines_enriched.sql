-- ERP invoice lines with their invoice's state and currency: the legacy export (latest
-- version of each line) and the lines Deliver-to-Bill wrote to the ERP (read back; kind and
-- expected tax from the outbox line with the same line key).

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

legacy as (

    select
        invoices.invoice_origin,
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
    -- lines of invoices created after the as-of date are not known yet
    inner join invoices
        on lines.invoice_source_id = invoices.invoice_source_id
    where invoices.invoice_origin = 'legacy_export'

),

written_back_lines as (

    select * from {{ ref('stg_erp_api__invoice_lines') }}

),

outbox_lines as (

    select
        line_key,
        line_number,
        kind,
        expected_tax
    from {{ optional_relation(source('ops', 'erp_outbox_lines'), {
        'line_key': 'varchar', 'line_number': 'integer', 'kind': 'varchar',
        'expected_tax': 'decimal(18, 4)'
    }) }}

),

written_back as (

    select
        invoices.invoice_origin,
        written_back_lines.invoice_line_source_id,
        written_back_lines.invoice_source_id,
        outbox_lines.line_number,
        written_back_lines.product_code as item,
        written_back_lines.description,
        outbox_lines.kind as line_kind,
        cast(null as {{ type_text() }}) as project_code,
        cast(null as {{ type_text() }}) as billed_record_refs,
        written_back_lines.quantity,
        written_back_lines.unit_price,
        written_back_lines.amount,
        written_back_lines.tax_code,
        cast(null as decimal(8, 4)) as tax_rate_percent,
        cast(outbox_lines.expected_tax as decimal(18, 2)) as tax_amount,
        invoices.currency,
        invoices.base_per_unit,
        invoices.contract_source_id,
        invoices.account_source_id,
        invoices.legal_entity,
        invoices.invoice_date,
        invoices.released_date,
        invoices.paid_date,
        invoices.created_at as invoice_created_at,
        invoices.is_released,
        invoices.is_paid,
        cast(null as {{ type_text() }}) as source_file,
        cast(null as bigint) as source_row_number,
        written_back_lines.ingested_at
    from written_back_lines
    inner join invoices
        on written_back_lines.invoice_source_id = invoices.invoice_source_id
    left join outbox_lines
        on written_back_lines.line_key = outbox_lines.line_key

),

final as (

    select * from legacy
    union all
    select * from written_back

)

select * from final
