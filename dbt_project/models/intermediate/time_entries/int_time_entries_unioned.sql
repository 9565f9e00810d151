-- One row per time entry across PSA sources (int_time_entry_versions), at its latest version
-- as of the as-of date. Exports are incremental by updated_at, so an entry appears once per
-- state change; the most recent updated_at (then the most recent load) is the entry's
-- current state. An entry whose current version is deleted in its PSA (deleted_at) is
-- retired: it leaves delivered hours (fct_lifecycle_events keeps its `deleted` event).
-- An entry whose current version is dated outside the firm's history window (a year typed
-- wrong) is held out of every figure too: it is an `implausible_date` exception
-- (int_time_entries_implausible) until the PSA corrects its date.
-- Incremental: a daily run rebuilds the entries worked on or after the cutoff
-- (macros/incremental.sql); an entry is ranked over all its versions, so those with any
-- version from the cutoff on are ranked, and those whose latest version is kept.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_incremental_scope(on_or_after_cutoff('work_date', incremental_cutoff())) }}",
    post_hook="{{ record_incremental_state() }}",
) }}

{%- set cutoff = incremental_cutoff() %}

with

versions as (

    select * from {{ ref('int_time_entry_versions') }}

),

-- on a daily run, the entries with a version worked on or after the cutoff, each ranked
-- over all its versions
in_scope as (

    select * from versions
    where {{ entries_from_cutoff('versions', cutoff) }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by source_system, source_id
            order by
                {{ as_of_version_order('updated_at') }},
                ingested_at desc,
                source_file desc,
                source_row_number desc
        ) as version_rank,
        count(*) over (partition by source_system, source_id) as version_count,
        min(ingested_at) over (partition by source_system, source_id) as first_ingested_at
    from in_scope

),

latest as (

    select
        source_system,
        source_id,
        -- numeric ids order entries by creation (duplicate_entry keeps the lowest); the id
        -- after an account qualifier (`<account>:<id>`, several accounts of one PSA)
        {{ dbt.safe_cast(
            dbt.split_part('source_id', "':'", -1), api.Column.translate_type('bigint')
        ) }} as source_id_number,
        person_source_id,
        person_name,
        project_ref,
        project_code_on_entry,
        task_ref,
        task_name,
        client_name_on_entry,
        work_date,
        hours,
        notes,
        is_billable,
        psa_bill_rate,
        psa_amount,
        psa_currency,
        approval_status,
        submitted_at,
        approved_at,
        created_at,
        updated_at,
        version_count,
        first_ingested_at,
        source_file,
        source_row_number,
        ingested_at
    from ranked
    where
        version_rank = 1
        and deleted_at is null
        and {{ is_plausible_date('work_date') }}
        and {{ on_or_after_cutoff('work_date', cutoff) }}

)

select * from latest
