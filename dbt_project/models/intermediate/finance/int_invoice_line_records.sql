-- The records each ERP invoice line bills (DESIGN §3 traceability): one row per
-- (invoice line, record) from the line's `custcol_psa_source_ids` list, with the record's
-- correlation id, so any billed figure traces back to its time entry or expense.

{{ config(materialized='table') }}

with

lines as (

    select
        invoice_line_source_id,
        invoice_source_id,
        billed_record_refs,
        is_released,
        is_paid,
        invoice_date,
        released_date,
        paid_date,
        invoice_created_at
    from {{ ref('int_invoice_lines_enriched') }}
    where billed_record_refs is not null

),

split as (

    select
        invoice_line_source_id,
        invoice_source_id,
        is_released,
        is_paid,
        invoice_date,
        released_date,
        paid_date,
        invoice_created_at,
        trim({{ split_to_rows('billed_record_refs', ';') }}) as record_ref
    from lines

),

parsed as (

    select
        split.*,
        {{ dbt.split_part('record_ref', "':'", 1) }} as record_system,
        {{ dbt.split_part('record_ref', "':'", 2) }} as record_source_id
    from split
    where split.record_ref != ''

),

final as (

    select
        invoice_line_source_id,
        invoice_source_id,
        record_system,
        case record_system when 'concur' then 'expense' else 'time_entry' end as record_kind,
        record_source_id,
        is_released,
        is_paid,
        invoice_date,
        released_date,
        paid_date,
        invoice_created_at
    from parsed

)

select * from final
