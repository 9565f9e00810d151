-- Fails for every (start date, finish date, legal entity) of record_lags whose business days
-- (the closed form of macro business_days) differ from the Monday-to-Friday days in
-- (start, finish] that are not non-working dates of the entity (config/business_calendars),
-- counted one by one on dim_calendar; open records are counted up to the as-of date. A span
-- stamped backwards (finish before start) counts the days of (finish, start] negative.
-- Spans that leave the calendar (it covers the days the firm's data touches) are not
-- counted: the calendar could not tell.

-- an asset check of record_lags in Dagster (the test reads two models)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'record_lags'}},
}) }}

with

spans as (

    select distinct
        legal_entity,
        least(start_date, coalesce(finish_date, as_of_date)) as first_date,
        greatest(start_date, coalesce(finish_date, as_of_date)) as last_date,
        case when coalesce(finish_date, as_of_date) >= start_date then 1 else -1 end as direction,
        coalesce(lag_business_days, open_age_business_days) as business_days
    from {{ ref('record_lags') }}

),

calendar_days as (

    select distinct
        calendar_date,
        is_weekend
    from {{ ref('dim_calendar') }}

),

non_working_dates as (

    select * from {{ ref('stg_config__business_calendars') }}

),

calendar_bounds as (

    select
        min(calendar_date) as first_date,
        max(calendar_date) as last_date
    from calendar_days

),

counted as (

    select
        spans.legal_entity,
        spans.first_date,
        spans.last_date,
        spans.direction,
        spans.business_days,
        count(
            case
                when not calendar_days.is_weekend and non_working_dates.legal_entity is null
                    then 1
            end
        ) as weekdays
    from spans
    cross join calendar_bounds
    left join calendar_days
        on
            spans.first_date < calendar_days.calendar_date
            and spans.last_date >= calendar_days.calendar_date
    left join non_working_dates
        on
            spans.legal_entity = non_working_dates.legal_entity
            and calendar_days.calendar_date = non_working_dates.non_working_date
    where
        spans.first_date >= calendar_bounds.first_date
        and spans.last_date <= calendar_bounds.last_date
    group by
        spans.legal_entity,
        spans.first_date,
        spans.last_date,
        spans.direction,
        spans.business_days

)

select * from counted
where business_days != direction * weekdays
