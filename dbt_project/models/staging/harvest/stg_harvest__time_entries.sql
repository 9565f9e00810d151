with

source as (

    select * from {{ source('harvest', 'time_entries') }}

),

renamed as (

    -- the canonical time-entry columns every PSA's staging has (its contract)
    select
        -- ids: entries refer to projects and tasks by Harvest id
        cast(id as varchar) as time_entry_source_id,
        cast(user_id as varchar) as person_source_id,
        user_name as person_name,
        cast(project_id as varchar) as project_ref,
        project_code,
        cast(task_id as varchar) as task_ref,
        task_name,
        client_name,

        -- work
        spent_date as work_date,
        hours,
        notes,
        billable as is_billable,
        billable_rate as psa_bill_rate,
        cast(null as decimal(18, 2)) as psa_amount,
        client_currency as psa_currency,

        -- approval audit
        approval_status,
        submitted_at,
        approved_at,
        created_at,
        updated_at,
        cast(null as timestamp) as deleted_at,

        -- lineage
        _source_file as source_file,
        _file_sha256 as source_file_sha256,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

)

-- the versions a rebuild for a past as-of date may use: those updated by then, and later
-- versions of entries created by then (int_time_entries_unioned prefers the former; the
-- marts date approval and billing by their own timestamps)
select * from renamed
where {{ known_at_as_of('updated_at') }} or {{ known_at_as_of('created_at') }}
