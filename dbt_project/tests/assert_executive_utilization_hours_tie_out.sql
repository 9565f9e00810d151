-- Fails if utilization_monthly loses or double-counts hours: per month, its logged and
-- billable hours must equal those of fct_time_entries for HR-matched workers (work done
-- and known by the as-of date; billable = approved, billable flag, valid).

-- an asset check of utilization_monthly in Dagster (the test reads more than one model)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'utilization_monthly'}},
}) }}

with

expected as (

    select
        cast({{ dbt.date_trunc('month', 'work_date') }} as date) as month_start_date,
        sum(hours) as logged_hours,
        sum(case when is_approved and is_billable and is_valid then hours else 0 end)
            as billable_hours
    from {{ ref('fct_time_entries') }}
    where
        resource_id is not null
        and work_date <= {{ as_of_date() }}
        and (created_at is null or created_at < {{ as_of_end() }})
    group by cast({{ dbt.date_trunc('month', 'work_date') }} as date)

),

actual as (

    select
        month_start_date,
        sum(logged_hours) as logged_hours,
        sum(billable_hours) as billable_hours
    from {{ ref('utilization_monthly') }}
    group by month_start_date

)

select
    coalesce(expected.month_start_date, actual.month_start_date) as month_start_date,
    expected.logged_hours as expected_logged_hours,
    actual.logged_hours as actual_logged_hours,
    expected.billable_hours as expected_billable_hours,
    actual.billable_hours as actual_billable_hours
from expected
full outer join actual
    on expected.month_start_date = actual.month_start_date
where
    coalesce(expected.logged_hours, 0) != coalesce(actual.logged_hours, 0)
    or coalesce(expected.billable_hours, 0) != coalesce(actual.billable_hours, 0)
