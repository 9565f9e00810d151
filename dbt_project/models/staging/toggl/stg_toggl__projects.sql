with

source as (

    select * from {{ current_snapshot(source('toggl', 'projects'), ['id']) }}

),

renamed as (

    select
        -- ids
        cast(id as varchar) as project_source_id,
        cast(workspace_id as varchar) as workspace_source_id,
        cast(client_id as varchar) as client_source_id,

        -- attributes: the name starts with the project code where the project has one
        name as project_name,
        case
            when
                {{ dbt.split_part('name', "' '", 1) }} like 'P-%'
                or {{ dbt.split_part('name', "' '", 1) }} like 'INT-%'
                then {{ dbt.split_part('name', "' '", 1) }}
        end as project_code,
        active as is_active,
        billable as is_billable,
        is_private,
        -- Toggl's field names `at` and `template` are SQL keywords, hence quoted
        {{ adapter.quote('template') }} as is_template,  -- noqa: RF04
        start_date,
        end_date,
        rate as default_bill_rate,
        currency,
        fixed_fee as fixed_fee_amount,
        estimated_hours,
        actual_hours,

        -- audit
        created_at,
        {{ adapter.quote('at') }} as updated_at,
        server_deleted_at as deleted_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
