with

source as (

    select * from {{ source('toggl', 'time_entries') }}

),

renamed as (

    -- the canonical time-entry columns every PSA's staging has (its contract)
    select
        -- ids: Toggl's detailed report names people by e-mail, projects and tasks by name
        cast(time_entry_id as varchar) as time_entry_source_id,
        lower(trim(email)) as person_source_id,
        user_name as person_name,
        project as project_ref,
        case
            when
                {{ dbt.split_part('project', "' '", 1) }} like 'P-%'
                or {{ dbt.split_part('project', "' '", 1) }} like 'INT-%'
                then {{ dbt.split_part('project', "' '", 1) }}
        end as project_code,
        task as task_ref,
        task as task_name,
        client as client_name,

        -- work: the start date is the work date (local time, Europe/Amsterdam)
        start_date as work_date,
        cast(extract(epoch from duration) / 3600.0 as decimal(12, 4)) as hours,
        description as notes,
        billable as is_billable,
        -- the report shows an amount, not a rate
        cast(null as decimal(18, 4)) as psa_bill_rate,
        amount_eur as psa_amount,
        'EUR' as psa_currency,

        -- approval audit
        approval_status,
        submitted_at,
        approved_at,
        -- the report carries no creation time
        cast(null as timestamp) as created_at,
        updated_at,

        -- lineage
        _source_file as source_file,
        _file_sha256 as source_file_sha256,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

)

-- each exported version as of its update: a rebuild for a past as-of date sees the entry as
-- it stood then
select * from renamed
where {{ known_at_as_of('updated_at') }}
