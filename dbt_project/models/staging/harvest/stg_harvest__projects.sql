with

source as (

    select * from {{ current_snapshot(source('harvest', 'projects'), ['id']) }}

),

renamed as (

    select
        -- ids
        cast(id as varchar) as project_source_id,
        cast(client_id as varchar) as client_source_id,

        -- attributes
        name as project_name,
        nullif(trim(code), '') as project_code,
        is_active,
        is_billable,
        is_fixed_fee,
        bill_by,
        starts_on as start_date,
        ends_on as end_date,
        hourly_rate as default_bill_rate,
        fee as fixed_fee_amount,
        budget,
        client_name,
        client_currency as currency,

        -- audit
        created_at,
        updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
