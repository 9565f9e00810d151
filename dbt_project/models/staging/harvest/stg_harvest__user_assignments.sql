with

source as (

    select * from {{ current_snapshot(
        source('harvest', 'user_assignments'),
        ['id'],
        partition_by=landing_account('snapshot_rows._source_file')
    ) }}

),

renamed as (

    select
        {{ account_qualified_id('id') }} as user_assignment_source_id,
        {{ account_qualified_id('project_id') }} as project_source_id,
        {{ account_qualified_id('user_id') }} as person_source_id,
        project_code,
        user_name as person_name,
        is_active,
        is_project_manager,
        use_default_rates,
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
