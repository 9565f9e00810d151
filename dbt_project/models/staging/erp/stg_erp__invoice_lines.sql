with

source as (

    select * from {{ source('erp', 'invoice_lines') }}

),

renamed as (

    select
        -- ids
        cast(line_id as {{ type_text() }}) as invoice_line_source_id,
        cast(invoice_internal_id as {{ type_text() }}) as invoice_source_id,
        line_number,

        -- attributes
        item,
        description,
        custcol_line_kind as line_kind,
        nullif(trim(custcol_psa_project_code), '') as project_code,
        -- the records the line bills: `<system>:<id>;<system>:<id>` (a PSA or concur)
        nullif(trim(custcol_psa_source_ids), '') as billed_record_refs,

        -- money (invoice currency)
        quantity,
        rate as unit_price,
        amount,
        tax_code,
        tax_rate as tax_rate_percent,
        tax_amount,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

)

select * from renamed
