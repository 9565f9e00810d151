with

source as (

    select * from {{ current_snapshot(source('hris', 'workers'), ['employee_id']) }}

),

renamed as (

    select
        employee_id,
        first_name,
        last_name,
        email,
        lower(trim(email)) as email_normalized,
        role,
        practice,
        region,
        legal_entity,
        cost_center,
        cost_rate,
        cost_rate_currency,
        weekly_capacity_hours,
        employment_type,
        hire_date,
        termination_date,
        updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
