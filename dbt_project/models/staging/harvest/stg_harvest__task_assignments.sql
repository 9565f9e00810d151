with

source as (

    select * from {{ current_snapshot(
        source('harvest', 'task_assignments'),
        ['id'],
        partition_by=landing_account('snapshot_rows._source_file')
    ) }}

),

renamed as (

    select
        {{ account_qualified_id('id') }} as task_assignment_source_id,
        {{ account_qualified_id('project_id') }} as project_source_id,
        {{ account_qualified_id('task_id') }} as task_source_id,
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
