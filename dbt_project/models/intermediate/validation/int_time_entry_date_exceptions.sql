-- Time entries whose current version is dated outside the firm's history window (macro
-- is_plausible_date: a year typed wrong, `infinity`): one `implausible_date` exception each,
-- owned by delivery. int_time_entries_unioned holds them out of every figure, so they reach
-- no fact and no month; the queue (billing_exceptions) shows them with their hours.
-- The current version is picked as int_time_entries_unioned picks it.

with

versions as (

    select * from {{ ref('int_time_entry_versions') }}

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
        min(ingested_at) over (partition by source_system, source_id) as first_ingested_at
    from versions

),

final as (

    select
        source_system,
        'time_entries' as source_entity,
        source_id,
        'implausible_date' as reason,
        'work date ' || cast(work_date as {{ type_text() }}) || ' is outside the history window '
        || cast({{ history_window_start() }} as {{ type_text() }}) || ' to '
        || cast({{ history_window_end() }} as {{ type_text() }}) as detail,
        person_source_id,
        project_code_on_entry as project_code,
        hours,
        first_ingested_at
    from ranked
    where
        version_rank = 1
        and deleted_at is null
        and not {{ is_plausible_date('work_date') }}

)

select * from final
