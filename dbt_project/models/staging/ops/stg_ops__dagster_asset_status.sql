with

source as (

    select * from {{ source('ops', 'dagster_asset_status') }}

),

renamed as (

    select
        asset_key,
        group_name,
        last_materialized_at,
        last_run_id,
        row_count,
        freshness_warn_hours,
        freshness_fail_hours
    from source

)

select * from renamed
