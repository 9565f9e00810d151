-- Per run: job, status and duration (the instance's recent history).

with

runs as (

    select * from {{ ref('stg_ops__dagster_runs') }}

),

final as (

    select
        run_id,
        job_name,
        run_status,
        started_at,
        ended_at,
        duration_seconds
    from runs

)

select * from final
