-- ERP invoice lines: one row per line (latest export), with kind, quantity, price, amount
-- and tax in the invoice currency, the number of records it bills and its release state.
-- int_invoice_line_records / fct_invoice_line_records list the records themselves.

with

lines as (

    select * from {{ ref('int_invoice_lines_enriched') }}

),

records as (

    select
        invoice_line_source_id,
        count(*) as billed_record_count
    from {{ ref('int_invoice_line_records') }}
    group by invoice_line_source_id

),

final as (

    select
        {{ surrogate_key("'erp'", 'lines.invoice_line_source_id') }} as invoice_line_id,
        'erp' as source_system,
        lines.invoice_origin,
        lines.invoice_line_source_id as source_id,
        {{ correlation_id("'erp'", "'invoice_line'", 'lines.invoice_line_source_id') }}
            as correlation_id,
        {{ surrogate_key("'erp'", 'lines.invoice_source_id') }} as invoice_id,
        lines.invoice_source_id,
        lines.line_number,
        lines.line_kind,
        lines.item,
        lines.description,
        lines.project_code,
        {{ surrogate_key("'salesforce'", 'lines.contract_source_id') }} as contract_id,
        {{ surrogate_key("'salesforce'", 'lines.account_source_id') }} as client_id,
        lines.legal_entity,
        lines.currency,
        lines.quantity,
        lines.unit_price,
        lines.amount,
        lines.tax_code,
        cast(lines.tax_rate_percent as decimal(8, 4)) as tax_rate_percent,
        lines.tax_amount,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ convert_money('lines.amount', 'lines.base_per_unit') }} as amount_reporting,
        coalesce(records.billed_record_count, 0) as billed_record_count,
        lines.invoice_date,
        lines.released_date,
        lines.is_released,
        lines.source_file,
        lines.source_row_number
    from lines
    left join records
        on lines.invoice_line_source_id = records.invoice_line_source_id

)

select * from final
