-- Timesheet compliance per resource and month (docs/design.md §4): the share of capacity days with
-- time submitted by the deadline, as of the as-of date.
--   capacity day: a day with capacity in utilization_monthly (Monday to Friday, not a
--     holiday of the worker's region, employed, from the history start to the as-of date);
--   deadline: the end (UTC) of the `timesheet_deadline_business_days`-th business day after
--     the end of the day's Monday-Sunday week; 1 = end of Monday. Business days are Monday to
--     Friday except the non-working dates of the worker's legal entity
--     (config/business_calendars, as the SLA clock of macro business_days); 0 = end of Sunday;
--   on time: some time entry of the worker for that day was first submitted before the
--     deadline (a later rejection does not undo a submission made in time);
--   due: the deadline has passed by the end of the as-of date. Only due days are judged:
--     due days = on time + late (submitted after the deadline) + missing (not submitted by
--     the as-of date), and compliance = on time ÷ due.
-- Rows are those of utilization_monthly.

with

utilization as (

    select * from {{ ref('utilization_monthly') }}

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

lifecycle_events as (

    select * from {{ ref('fct_lifecycle_events') }}

),

deadline as (

    -- the firm's deadline in business days (config/sla_thresholds)
    select {{ firm_threshold('timesheet_deadline_business_days') }} as business_days

),

non_working_dates as (

    select * from {{ ref('stg_config__business_calendars') }}

),

day_offsets as (

    -- 1 to 999: the days after a week among which its deadline day is found
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as day_offset
    from {{ digits() }} as ones
    cross join {{ digits() }} as tens
    cross join {{ digits() }} as hundreds
    where ones.digit + tens.digit + hundreds.digit > 0

),

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

history as (

    select
        min(history_start_date) as history_start_date,
        min(as_of_date) as as_of_date
    from utilization

),

working_days as (

    -- the days utilization_monthly counts as capacity (assert_executive_capacity_days_agree)
    select
        resources.resource_id,
        resources.legal_entity,
        calendar.calendar_date,
        calendar.month_start_date,
        calendar.week_start_date
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

),

entity_weeks as (

    select distinct
        legal_entity,
        week_start_date
    from working_days

),

days_after_week as (

    -- the days after each week (day_offsets), Monday first
    select
        entity_weeks.legal_entity,
        entity_weeks.week_start_date,
        cast(
            {{ dbt.dateadd('day', 'day_offsets.day_offset + 6', 'entity_weeks.week_start_date') }}
            as date
        ) as business_date
    from entity_weeks
    cross join day_offsets

),

business_days_after_week as (

    -- the business days after each week of each entity's people, numbered from Monday
    select
        after_week.legal_entity,
        after_week.week_start_date,
        after_week.business_date,
        row_number() over (
            partition by after_week.legal_entity, after_week.week_start_date
            order by after_week.business_date
        ) as business_day_number
    from days_after_week as after_week
    left join non_working_dates
        on
            after_week.legal_entity = non_working_dates.legal_entity
            and after_week.business_date = non_working_dates.non_working_date
    where
        {{ is_weekday('after_week.business_date') }}
        and non_working_dates.non_working_date is null

),

deadlines as (

    -- midnight that ends the deadline day (the Sunday ending the week when N = 0)
    select
        entity_weeks.legal_entity,
        entity_weeks.week_start_date,
        cast(
            {{ dbt.dateadd(
                'day', 1,
                'coalesce(deadline_days.business_date, '
                ~ dbt.dateadd('day', 6, 'entity_weeks.week_start_date') ~ ')'
            ) }} as timestamp
        ) as deadline_at
    from entity_weeks
    cross join deadline
    left join business_days_after_week as deadline_days
        on
            entity_weeks.legal_entity is not distinct from deadline_days.legal_entity
            and entity_weeks.week_start_date = deadline_days.week_start_date
            and deadline.business_days = deadline_days.business_day_number

),

capacity_days as (

    select
        working_days.resource_id,
        working_days.calendar_date,
        working_days.month_start_date,
        deadlines.deadline_at
    from working_days
    inner join deadlines
        on
            working_days.legal_entity is not distinct from deadlines.legal_entity
            and working_days.week_start_date = deadlines.week_start_date

),

first_submissions as (

    -- every submission the PSAs exported, up to the end of the as-of date
    select
        correlation_id,
        min(event_at) as first_submitted_at
    from lifecycle_events
    where record_kind = 'time_entry' and event_type = 'submitted'
    group by correlation_id

),

submitted_days as (

    -- the earliest submission of any entry the worker logged for the day
    select
        time_entries.resource_id,
        time_entries.work_date,
        min(first_submissions.first_submitted_at) as first_submitted_at
    from time_entries
    cross join as_of
    inner join first_submissions
        on time_entries.correlation_id = first_submissions.correlation_id
    where
        time_entries.resource_id is not null
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)
    group by time_entries.resource_id, time_entries.work_date

),

judged_days as (

    select
        capacity_days.resource_id,
        capacity_days.month_start_date,
        capacity_days.deadline_at <= as_of.as_of_end as is_due,
        submitted_days.first_submitted_at < capacity_days.deadline_at as is_on_time,
        submitted_days.first_submitted_at is not null as is_submitted
    from capacity_days
    cross join as_of
    left join submitted_days
        on
            capacity_days.resource_id = submitted_days.resource_id
            and capacity_days.calendar_date = submitted_days.work_date

),

compliance as (

    select
        resource_id,
        month_start_date,
        count(*) as capacity_days,
        sum(case when is_due then 1 else 0 end) as due_days,
        sum(case when is_due and is_on_time then 1 else 0 end) as on_time_days,
        sum(case when is_due and is_submitted and not is_on_time then 1 else 0 end)
            as late_days,
        sum(case when is_due and not is_submitted then 1 else 0 end) as missing_days
    from judged_days
    group by resource_id, month_start_date

),

final as (

    select
        utilization.utilization_id as compliance_id,
        utilization.resource_id,
        utilization.employee_id,
        utilization.month_start_date,
        utilization.role,
        utilization.practice,
        utilization.region,
        utilization.legal_entity,
        utilization.employment_type,
        cast(coalesce(compliance.capacity_days, 0) as integer) as capacity_days,
        cast(coalesce(compliance.due_days, 0) as integer) as due_days,
        cast(coalesce(compliance.on_time_days, 0) as integer) as on_time_days,
        cast(coalesce(compliance.late_days, 0) as integer) as late_days,
        cast(coalesce(compliance.missing_days, 0) as integer) as missing_days,
        cast(compliance.on_time_days as {{ type_double() }})
        / nullif(cast(compliance.due_days as {{ type_double() }}), 0) as compliance_share,
        (select deadline.business_days from deadline) as deadline_business_days,
        utilization.as_of_date
    from utilization
    left join compliance
        on
            utilization.resource_id = compliance.resource_id
            and utilization.month_start_date = compliance.month_start_date

)

select * from final
