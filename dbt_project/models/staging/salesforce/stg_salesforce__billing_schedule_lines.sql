with

source as (

    select * from {{ current_snapshot(source('salesforce', 'billing_schedules'), ['id']) }}

),

renamed as (

    select
        id as schedule_line_source_id,
        name as schedule_line_name,
        contract_id as contract_source_id,
        line_type,
        description,
        amount,
        currency_iso_code as currency,
        due_date,
        period_start,
        period_end,
        included_hours,
        overage_rate,
        acceptance_date,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        last_modified_date as updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
