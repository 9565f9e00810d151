-- The bridge from ERP invoice lines to the records they bill (docs/design.md §3): one row per
-- (invoice line, time entry or expense) with the record's correlation id, so an invoiced
-- amount traces back to the source submission and a record forward to its invoice line.

with

records as (

    select * from {{ ref('int_invoice_line_records') }}

),

final as (

    select
        {{ surrogate_key("'erp'", 'invoice_line_source_id') }} as invoice_line_id,
        -- the billed record's correlation id: the same value as on its fact row
        correlation_id,
        record_kind,
        record_system,
        record_source_id,
        is_released,
        released_date
    from records

)

select * from final
