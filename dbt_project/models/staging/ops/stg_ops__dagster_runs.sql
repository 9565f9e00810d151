with

source as (

    select * from {{ source('ops', 'dagster_runs') }}

),

renamed as (

    select
        run_id,
        job_name,
        lower(status) as run_status,
        started_at,
        ended_at,
        duration_seconds,
        created_at
    from source

)

select * from renamed
