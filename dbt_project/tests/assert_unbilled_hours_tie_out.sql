-- Fails if the WIP mart does not hold exactly the approved, billable, valid, uninvoiced
-- hours of fct_time_entries (as of the as-of date) valued at rate (less
-- wip_excluded_time_entries: schedule-billed work and work held past a cap), in total and in value.

-- an asset check of unbilled_approved_hours in Dagster (the test reads more than one model)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'unbilled_approved_hours'}},
}) }}

with

expected as (

    select
        count(*) as entries,
        coalesce(sum(hours), 0) as hours,
        coalesce(sum(billable_amount), 0) as amount
    from {{ ref('fct_time_entries') }}
    where
        is_approved
        and is_billable
        and is_valid
        and not is_invoiced
        and approved_at < {{ as_of_end() }}
        and (created_at is null or created_at < {{ as_of_end() }})
        and correlation_id not in (
            select excluded.correlation_id from {{ ref('wip_excluded_time_entries') }} as excluded
        )

),

actual as (

    select
        coalesce(sum(time_entry_count), 0) as entries,
        coalesce(sum(unbilled_approved_hours), 0) as hours,
        coalesce(sum(unbilled_value), 0) as amount
    from {{ ref('unbilled_approved_hours') }}

)

select
    expected.*,
    actual.entries as actual_entries,
    actual.hours as actual_hours,
    actual.amount as actual_amount
from expected
cross join actual
where
    expected.entries != actual.entries
    or expected.hours != actual.hours
    or expected.amount != actual.amount
