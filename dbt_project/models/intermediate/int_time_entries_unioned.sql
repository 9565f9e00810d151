-- One row per time entry across PSA sources, at its latest known version.
-- Exports are incremental by updated_at, so an entry appears once per state change;
-- the most recent updated_at (then the most recent load) is the entry's current state.

with

harvest as (

    select
        'harvest' as source_system,
        time_entry_source_id as source_id,
        person_source_id,
        project_source_id,
        task_source_id,
        client_source_id,
        work_date,
        hours,
        is_billable,
        psa_bill_rate,
        psa_currency,
        approval_status,
        submitted_at,
        approved_at,
        created_at,
        updated_at,
        source_file,
        source_row_number,
        ingested_at
    from {{ ref('stg_harvest__time_entries') }}

),

unioned as (

    select * from harvest

),

ranked as (

    select
        *,
        row_number() over (
            partition by source_system, source_id
            order by updated_at desc, ingested_at desc, source_file desc, source_row_number desc
        ) as version_rank
    from unioned

),

latest as (

    select
        source_system,
        source_id,
        person_source_id,
        project_source_id,
        task_source_id,
        client_source_id,
        work_date,
        hours,
        is_billable,
        psa_bill_rate,
        psa_currency,
        approval_status,
        submitted_at,
        approved_at,
        created_at,
        updated_at,
        source_file,
        source_row_number,
        ingested_at
    from ranked
    where version_rank = 1

)

select * from latest
