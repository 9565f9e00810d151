with

source as (

    select * from {{ current_snapshot(
        source('harvest', 'users'),
        ['id'],
        partition_by=landing_account('snapshot_rows._source_file')
    ) }}

),

renamed as (

    select
        {{ account_qualified_id('id') }} as person_source_id,
        first_name,
        last_name,
        email,
        lower(trim(email)) as email_normalized,
        is_active,
        is_contractor,
        cast(weekly_capacity / 3600.0 as decimal(12, 4)) as weekly_capacity_hours,
        cost_rate,
        timezone,
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
