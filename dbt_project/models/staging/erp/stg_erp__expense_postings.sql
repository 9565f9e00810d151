with

source as (

    select * from {{ source('erp', 'expense_postings') }}

),

renamed as (

    select
        -- ids
        cast(line_id as {{ type_text() }}) as posting_line_source_id,
        cast(journal_internal_id as {{ type_text() }}) as journal_source_id,
        journal_tranid as journal_number,
        cast(concur_entry_id as {{ type_text() }}) as expense_source_id,
        concur_report_id as report_id,
        employee_id,

        -- attributes
        subsidiary as legal_entity,
        posted_date,
        posting_period,
        gl_account,
        amount,
        currency,
        memo,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

)

select * from renamed
