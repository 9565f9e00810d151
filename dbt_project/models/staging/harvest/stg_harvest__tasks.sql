with

source as (

    select * from {{ current_snapshot(
        source('harvest', 'tasks'),
        ['id'],
        partition_by=landing_account('snapshot_rows._source_file')
    ) }}

),

renamed as (

    select
        {{ account_qualified_id('id') }} as task_source_id,
        name as task_name,
        billable_by_default as is_billable_by_default,
        is_default,
        is_active,
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
