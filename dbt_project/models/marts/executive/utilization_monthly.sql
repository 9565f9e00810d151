-- Utilization per resource and month (docs/design.md §4): billable hours ÷ capacity hours, and
-- total utilization = all logged hours ÷ capacity hours, as of the as-of date.
--   capacity: the weekly capacity spread evenly over Monday to Friday (HR records hours a
--     week, not which days a part-timer works), on the days that are neither weekend nor a
--     holiday of the worker's region, from hire to termination date, from the first day of
--     the firm's time history to the as-of date;
--   billable hours: the funnel's billable hours (approved by the as-of date, billable flag,
--     no record-level exception), so utilization and the funnel agree on what billable is;
--   logged hours: every time entry of the worker known by the as-of date.
-- One row per resource and month in which they were employed on at least one day of the
-- window, or logged time (so every logged hour of a matched worker is in exactly one row).

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

resources as (

    select * from {{ ref('dim_resources') }}

),

calendar as (

    select * from {{ ref('dim_calendar') }}

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

known_entries as (

    -- work done by the as-of date that the PSA knew of by then (an entry without a creation
    -- time, from a PSA that records none, counts once loaded)
    select
        time_entries.resource_id,
        time_entries.work_date,
        time_entries.hours,
        time_entries.is_billable_stage as is_billable_hour
    from time_entries
    cross join as_of
    where
        time_entries.work_date <= as_of.as_of_date
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)

),

history as (

    -- the firm's time history starts with its first logged day: capacity before it would
    -- be capacity nobody could have logged against
    select
        min(known_entries.work_date) as history_start_date,
        max(as_of.as_of_date) as as_of_date
    from known_entries
    cross join as_of

),

months as (

    select
        calendar.month_start_date,
        min(calendar.calendar_date) as first_date,
        max(calendar.calendar_date) as last_date
    from calendar
    cross join history
    where calendar.calendar_date between history.history_start_date and history.as_of_date
    group by calendar.month_start_date

),

employed_months as (

    select
        resources.resource_id,
        months.month_start_date
    from resources
    inner join months
        on
            resources.hire_date <= months.last_date
            and coalesce(resources.termination_date, months.last_date) >= months.first_date

),

capacity as (

    select
        resources.resource_id,
        calendar.month_start_date,
        count(*) as capacity_days,
        -- a fifth of the week per working day, multiplied (engines divide decimals in
        -- floating point): 40 h -> 8, 37.5 h -> 7.5, 32 h -> 6.4
        sum(
            cast(resources.weekly_capacity_hours as decimal(18, 4)) * cast(0.2 as decimal(2, 1))
        ) as capacity_hours
    from resources
    cross join history
    inner join calendar
        on
            resources.region = calendar.region
            and calendar.calendar_date
            between greatest(resources.hire_date, history.history_start_date)
            and least(
                coalesce(resources.termination_date, history.as_of_date), history.as_of_date
            )
    where calendar.is_working_day
    group by resources.resource_id, calendar.month_start_date

),

logged as (

    select
        known_entries.resource_id,
        cast({{ dbt.date_trunc('month', 'known_entries.work_date') }} as date)
            as month_start_date,
        sum(known_entries.hours) as logged_hours,
        sum(case when known_entries.is_billable_hour then known_entries.hours else 0 end)
            as billable_hours
    from known_entries
    where known_entries.resource_id is not null
    group by
        known_entries.resource_id,
        cast({{ dbt.date_trunc('month', 'known_entries.work_date') }} as date)

),

resource_months as (

    select
        resource_id,
        month_start_date
    from employed_months
    union
    select
        resource_id,
        month_start_date
    from logged

),

final as (

    select
        {{ hash_key(['resource_months.resource_id', 'resource_months.month_start_date']) }}
            as utilization_id,
        resource_months.resource_id,
        resources.employee_id,
        resource_months.month_start_date,
        resources.role,
        resources.practice,
        resources.region,
        resources.legal_entity,
        resources.employment_type,
        resources.weekly_capacity_hours,
        cast(coalesce(capacity.capacity_days, 0) as integer) as capacity_days,
        cast(coalesce(capacity.capacity_hours, 0) as decimal(18, 4)) as capacity_hours,
        cast(coalesce(logged.billable_hours, 0) as decimal(18, 4)) as billable_hours,
        cast(coalesce(logged.logged_hours, 0) as decimal(18, 4)) as logged_hours,
        -- ratios are doubles (docs/design.md §3 keeps decimals for money); null without capacity
        cast(coalesce(logged.billable_hours, 0) as {{ type_double() }})
        / nullif(cast(capacity.capacity_hours as {{ type_double() }}), 0) as utilization,
        cast(coalesce(logged.logged_hours, 0) as {{ type_double() }})
        / nullif(cast(capacity.capacity_hours as {{ type_double() }}), 0) as total_utilization,
        history.history_start_date,
        history.as_of_date
    from resource_months
    cross join history
    inner join resources
        on resource_months.resource_id = resources.resource_id
    left join capacity
        on
            resource_months.resource_id = capacity.resource_id
            and resource_months.month_start_date = capacity.month_start_date
    left join logged
        on
            resource_months.resource_id = logged.resource_id
            and resource_months.month_start_date = logged.month_start_date

)

select * from final
