with

source as (

    select * from {{ current_snapshot(source('harvest', 'task_assignments'), ['id']) }}

),

renamed as (

    select
        cast(id as varchar) as task_assignment_source_id,
        cast(project_id as varchar) as project_source_id,
        cast(task_id as varchar) as task_source_id,
        project_code,
        task_name,
        is_active,
        billable as is_billable,
        hourly_rate,
        created_at,
        updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
