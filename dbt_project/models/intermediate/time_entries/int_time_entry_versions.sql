-- Every exported version of every time entry, of every PSA (var psa_sources): the one model
-- that lists the PSAs' time entries. Each PSA's staging has the canonical columns (its
-- contract); a PSA refers to projects, tasks and people its own way (project_ref, task_ref,
-- person_source_id). Versions known by the as-of date only (the staging filters them).

with

unioned as (

    {{ union_psa_staging('time_entries', [
        'time_entry_source_id',
        'person_source_id',
        'person_name',
        'project_ref',
        'project_code',
        'task_ref',
        'task_name',
        'client_name',
        'work_date',
        'hours',
        'notes',
        'is_billable',
        'psa_bill_rate',
        'psa_amount',
        'psa_currency',
        'approval_status',
        'submitted_at',
        'approved_at',
        'created_at',
        'updated_at',
        'deleted_at',
        'source_file',
        'source_row_number',
        'ingested_at',
    ]) }}

),

versions as (

    select
        source_system,
        time_entry_source_id as source_id,
        person_source_id,
        person_name,
        project_ref,
        project_code as project_code_on_entry,
        task_ref,
        task_name,
        client_name as client_name_on_entry,
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
        deleted_at,
        source_file,
        source_row_number,
        ingested_at
    from unioned

)

select * from versions
