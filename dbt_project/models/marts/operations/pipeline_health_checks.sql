-- Per asset check: its latest evaluation, and the outcome the Data health page names it by
-- (a warning check that fired holds nothing back; a blocking one that failed stops the run).

with

checks as (

    select * from {{ ref('stg_ops__dagster_check_status') }}

),

final as (

    select
        asset_key,
        check_name,
        severity,
        check_status,
        is_passed,
        case
            when check_status = 'never_run' or is_passed is null then 'not_evaluated'
            when is_passed then 'passed'
            when severity = 'warn' then 'warning'
            else 'failed'
        end as check_outcome,
        evaluated_at,
        run_id
    from checks

)

select * from final
