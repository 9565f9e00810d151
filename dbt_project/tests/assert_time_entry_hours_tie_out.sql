-- Fails if hours are lost or double-counted between staging and the marts: per PSA, the
-- hours of the latest version of every entry in staging (int_time_entry_versions; the latest
-- version recomputed here independently), unless that version is a deletion
-- must equal the hours in fct_time_entries (less the entries held out for an implausible
-- date), and equal the valid hours plus the hours of the excepted entries in
-- billing_exceptions (which lists the held-out entries too). An entry queued only for
-- `over_cap` is valid work held from billing, not an excepted one: it counts in the valid
-- hours, and fails the test if it is not valid.

-- an asset check of fct_time_entries in Dagster (the test reads more than one model)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'fct_time_entries'}},
}) }}

with

staged_versions as (

    select * from {{ ref('int_time_entry_versions') }}

),

staged as (

    -- the version the marts use as of the as-of date (versions sharing an update time carry
    -- the same state: any one will do)
    select
        source_system,
        source_id,
        hours,
        deleted_at,
        {{ is_plausible_date('work_date') }} as is_date_plausible,
        row_number() over (
            partition by source_system, source_id
            order by {{ as_of_version_order('updated_at') }}, hours desc
        ) as version_rank
    from staged_versions

),

staged_totals as (

    select
        source_system,
        count(*) as entries,
        sum(hours) as hours,
        sum(case when is_date_plausible then 0 else 1 end) as held_entries,
        sum(case when is_date_plausible then 0 else hours end) as held_hours
    from staged
    -- an entry deleted in its PSA is retired: not in the marts
    where version_rank = 1 and deleted_at is null
    group by source_system

),

mart_totals as (

    select
        source_system,
        count(*) as entries,
        sum(hours) as hours,
        sum(case when is_valid then hours else 0 end) as valid_hours
    from {{ ref('fct_time_entries') }}
    group by source_system

),

excepted_entries as (

    select distinct
        source_system,
        source_id,
        hours
    from {{ ref('billing_exceptions') }}
    where source_entity = 'time_entries' and reason != 'over_cap'

),

-- held past a cap yet not valid: a validity exception the queue would count twice
invalid_held_entries as (

    select
        held.source_system,
        count(*) as entries
    from {{ ref('billing_exceptions') }} as held
    inner join {{ ref('fct_time_entries') }} as time_entries
        on
            held.source_system = time_entries.source_system
            and held.source_id = time_entries.source_id
    where held.reason = 'over_cap' and not time_entries.is_valid
    group by held.source_system

),

excepted_totals as (

    select
        source_system,
        sum(hours) as hours
    from excepted_entries
    group by source_system

),

compared as (

    select
        coalesce(staged_totals.source_system, mart_totals.source_system) as source_system,
        staged_totals.entries as staged_entries,
        mart_totals.entries as mart_entries,
        staged_totals.hours as staged_hours,
        staged_totals.held_entries,
        staged_totals.held_hours,
        mart_totals.hours as mart_hours,
        mart_totals.valid_hours,
        coalesce(excepted_totals.hours, 0) as excepted_hours,
        coalesce(invalid_held_entries.entries, 0) as invalid_held_entries
    from staged_totals
    full outer join mart_totals
        on staged_totals.source_system = mart_totals.source_system
    left join excepted_totals
        on staged_totals.source_system = excepted_totals.source_system
    left join invalid_held_entries
        on staged_totals.source_system = invalid_held_entries.source_system

)

select *
from compared
where
    staged_entries - held_entries is distinct from mart_entries
    or staged_hours - held_hours is distinct from mart_hours
    or staged_hours is distinct from valid_hours + excepted_hours
    or invalid_held_entries > 0
