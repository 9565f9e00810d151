-- Toggl time entries of both formats Toggl ships (docs/sources.md, Toggl): the detailed-report
-- CSV (people by e-mail, projects by name, wall-clock local times) and the API v9 JSON (people
-- by user id, projects by id, times in UTC).

with

source as (

    select * from {{ source('toggl', 'time_entries') }}

),

projects as (

    select
        project_source_id,
        project_ref
    from {{ ref('stg_toggl__projects') }}

),

located as (

    select
        source.*,
        -- an API row names its project by id: the projects export gives its name, which is
        -- how CSV rows name it; an id the export does not know stays visible as the id (an
        -- unknown project)
        coalesce(
            source.project, projects.project_ref, cast(source.project_id as {{ type_text() }})
        ) as project_name_or_id,
        -- the work date is the local date the work started: CSV times are wall-clock in the
        -- exporting profile's zone already, API times are UTC (time_zone) and are read in
        -- the workspace's zone (var toggl_time_zone)
        case
            when source.time_zone = 'UTC'
                then {{ local_date_of_utc(
                    'source.start_date', 'source.start_time', var("toggl_time_zone", "Europe/Amsterdam")
                ) }}
            else source.start_date
        end as local_start_date,
        -- when the version became known: its update time, else (a stock CSV carries none)
        -- its load
        coalesce(source.updated_at, source._ingested_at) as known_at
    from source
    left join projects
        on cast(source.project_id as {{ type_text() }}) = projects.project_source_id

),

renamed as (

    -- the canonical time-entry columns every PSA's staging has (its contract)
    select
        -- ids: CSV rows name people by e-mail, API rows by Toggl user id (matched to HR
        -- through the MDM identity mapping); projects and tasks by name
        cast(time_entry_id as {{ type_text() }}) as time_entry_source_id,
        coalesce(lower(trim(email)), cast(user_id as {{ type_text() }})) as person_source_id,
        user_name as person_name,
        project_name_or_id as project_ref,
        case
            when
                {{ dbt.split_part('project_name_or_id', "' '", 1) }} like 'P-%'
                or {{ dbt.split_part('project_name_or_id', "' '", 1) }} like 'INT-%'
                then {{ dbt.split_part('project_name_or_id', "' '", 1) }}
        end as project_code,
        task as task_ref,
        task as task_name,
        client as client_name,

        -- work
        local_start_date as work_date,
        cast({{ interval_seconds("duration") }} / 3600.0 as decimal(12, 4)) as hours,
        description as notes,
        billable as is_billable,
        -- the report shows an amount, in the currency of its Amount header, not a rate
        cast(null as decimal(18, 4)) as psa_bill_rate,
        amount as psa_amount,
        amount_currency as psa_currency,

        -- approval audit (optional extras of the CSV; the API has none)
        approval_status,
        submitted_at,
        approved_at,
        -- the report carries no creation time
        cast(null as timestamp) as created_at,
        known_at as updated_at,
        -- an API entry deleted in Toggl (server_deleted_at): the entry is retired
        deleted_at,

        -- lineage
        _source_file as source_file,
        _file_sha256 as source_file_sha256,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from located

)

-- each exported version as of when it became known: a rebuild for a past as-of date sees
-- the entry as it stood then
select * from renamed
where {{ known_at_as_of('updated_at') }}
