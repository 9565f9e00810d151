with

source as (

    select * from {{ source('ops', 'dagster_check_status') }}

),

renamed as (

    select
        asset_key,
        check_name,
        lower(status) as check_status,
        passed as is_passed,
        lower(severity) as severity,
        evaluated_at,
        run_id
    from source

)

select * from renamed
