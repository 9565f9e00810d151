with

source as (

    select * from {{ current_snapshot(
        source('harvest', 'clients'),
        ['id'],
        partition_by=landing_account('snapshot_rows._source_file')
    ) }}

),

renamed as (

    select
        {{ account_qualified_id('id') }} as client_source_id,
        name as client_name,
        is_active,
        currency,
        statement_key,
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
