-- Unbilled approved hours per project as of the as-of date (DESIGN §4, WIP):
-- approved by the end of the as-of date, billable, and not yet invoiced.
-- Walking skeleton: ERP invoice lines, validation and rate resolution join in with the
-- canonical model; until then no entry counts as invoiced.

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

approved_unbilled as (

    select
        time_entries.project_source_id,
        time_entries.source_system,
        time_entries.hours,
        time_entries.approved_at,
        as_of.as_of_date,
        {{ dbt.datediff('cast(time_entries.approved_at as date)', 'as_of.as_of_date', 'day') }}
            as days_since_approval
    from time_entries
    cross join as_of
    where
        time_entries.is_approved
        and time_entries.is_billable
        and time_entries.approved_at < as_of.as_of_end
        and time_entries.created_at < as_of.as_of_end

),

final as (

    select
        source_system,
        project_source_id,
        as_of_date,
        count(*) as time_entry_count,
        cast(sum(hours) as decimal(18, 4)) as unbilled_approved_hours,
        cast(
            sum(case when days_since_approval <= 30 then hours else 0 end) as decimal(18, 4)
        ) as hours_aged_0_30,
        cast(
            sum(case when days_since_approval between 31 and 60 then hours else 0 end)
            as decimal(18, 4)
        ) as hours_aged_31_60,
        cast(
            sum(case when days_since_approval between 61 and 90 then hours else 0 end)
            as decimal(18, 4)
        ) as hours_aged_61_90,
        cast(
            sum(case when days_since_approval between 91 and 120 then hours else 0 end)
            as decimal(18, 4)
        ) as hours_aged_91_120,
        cast(
            sum(case when days_since_approval > 120 then hours else 0 end) as decimal(18, 4)
        ) as hours_aged_over_120,
        min(approved_at) as oldest_approved_at
    from approved_unbilled
    group by source_system, project_source_id, as_of_date

)

select * from final
