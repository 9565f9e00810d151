with

source as (

    select * from {{ source('harvest', 'time_entries') }}

),

renamed as (

    -- the canonical time-entry columns every PSA's staging has (its contract)
    select
        -- ids: entries refer to projects and tasks by Harvest id
        {{ account_qualified_id('id') }} as time_entry_source_id,
        {{ account_qualified_id('user_id') }} as person_source_id,
        user_name as person_name,
        {{ account_qualified_id('project_id') }} as project_ref,
        project_code,
        {{ account_qualified_id('task_id') }} as task_ref,
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
        -- exports carry entries that exist; a deletion is the version deletion_versions adds
        cast(null as timestamp) as deleted_at,

        -- lineage
        _source_file as source_file,
        _file_sha256 as source_file_sha256,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

),

-- the versions a rebuild for a past as-of date may use: those updated by then, and later
-- versions of entries created by then (int_time_entries_unioned prefers the former; the
-- marts date approval and billing by their own timestamps)
exported as (

    select * from renamed
    where {{ known_at_as_of('updated_at') }} or {{ known_at_as_of('created_at') }}

),

-- when each file was delivered: its load, then, within one load, its mtime in the landing
-- zone (a landing zone loaded at once, e.g. a firm's first backfill, can hold a window's
-- export and its re-export; ingest notes no mtime for a file written as it was read, and such
-- a file is never taken as the later of two in one load)
file_delivery as (

    select
        load_id,
        file_mtime_ns
    from {{ source('ops', 'landed_files') }}

),

-- exports by spent date (`from`/`to`, docs/sources.md): one run of pages per account,
-- window and file name (without its `_page_<n>`), known from its first load
window_exports as (

    select
        {{ landing_account('source._source_file') }} as harvest_account,
        source.export_from,
        source.export_to,
        min(source._source_file) as source_file,
        min(source._ingested_at) as exported_at,
        min(file_delivery.file_mtime_ns) as exported_mtime_ns
    from source
    left join file_delivery on source._load_id = file_delivery.load_id
    where source.export_from is not null and source.export_to is not null
    group by
        {{ landing_account('source._source_file') }},
        source.export_from,
        source.export_to,
        regexp_replace(source._source_file, '_page_[0-9]+[.]json$', '')

),

-- each entry as last seen in any export, in delivery order
last_seen as (

    select * from (
        select
            exported.*,
            file_delivery.file_mtime_ns,
            {{ landing_account('exported.source_file') }} as harvest_account,
            row_number() over (
                partition by exported.time_entry_source_id
                order by
                    exported.ingested_at desc,
                    file_delivery.file_mtime_ns desc nulls last,
                    exported.source_file desc,
                    exported.source_row_number desc
            ) as seen_rank
        from exported
        left join file_delivery on exported.load_id = file_delivery.load_id
    ) as seen
    where seen_rank = 1

),

-- an entry retired in Harvest: a later export of a window covering its work date no longer
-- lists it (it would have been seen again); the first such export deletes it
deleted as (

    select * from (
        select
            last_seen.*,
            window_exports.source_file as export_file,
            window_exports.exported_at,
            row_number() over (
                partition by last_seen.time_entry_source_id
                order by window_exports.exported_at, window_exports.source_file
            ) as deletion_rank
        from last_seen
        inner join window_exports
            on
                last_seen.harvest_account is not distinct from window_exports.harvest_account
                and last_seen.work_date
                between window_exports.export_from and window_exports.export_to
                and (
                    last_seen.ingested_at < window_exports.exported_at
                    or (
                        last_seen.ingested_at = window_exports.exported_at
                        and last_seen.file_mtime_ns < window_exports.exported_mtime_ns
                    )
                )
        where {{ known_at_as_of('window_exports.exported_at') }}
    ) as deletions
    where deletion_rank = 1

),

-- the deletion as the entry's last version, known when the window's re-export landed
deletion_versions as (

    select
        time_entry_source_id,
        person_source_id,
        person_name,
        project_ref,
        project_code,
        task_ref,
        task_name,
        client_name,
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
        exported_at as updated_at,
        exported_at as deleted_at,
        export_file as source_file,
        cast(null as {{ type_text() }}) as source_file_sha256,
        cast(null as bigint) as source_row_number,
        exported_at as ingested_at,
        cast(null as {{ type_text() }}) as load_id
    from deleted

)

select * from exported
union all
select * from deletion_versions
