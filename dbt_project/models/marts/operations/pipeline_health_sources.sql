-- Per source entity: what landed, what was rejected, and how long ago the last file loaded.

with

landed_files as (

    select * from {{ ref('stg_ops__landed_files') }}

),

rejected_files as (

    select * from {{ ref('stg_quarantine__rejected_files') }}

),

loaded_ranked as (

    select
        source_system,
        source_entity,
        source_file as last_file,
        loaded_at as last_loaded_at,
        row_number() over (
            partition by source_system, source_entity order by loaded_at desc, load_id desc
        ) as recency_rank
    from landed_files
    where load_status = 'loaded'

),

latest_file as (

    select * from loaded_ranked
    where recency_rank = 1

),

totals as (

    select
        source_system,
        source_entity,
        cast(sum(case when load_status = 'loaded' then 1 else 0 end) as {{ dbt.type_bigint() }})
            as files_loaded,
        cast(sum(case when load_status = 'rejected' then 1 else 0 end) as {{ dbt.type_bigint() }})
            as files_rejected,
        cast(
            sum(case when load_status = 'duplicate' then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as files_duplicate,
        cast(coalesce(sum(rows_loaded), 0) as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(coalesce(sum(rows_rejected), 0) as {{ dbt.type_bigint() }}) as rows_rejected
    from landed_files
    group by source_system, source_entity

),

distinct_reasons as (

    select distinct
        source_system,
        source_entity,
        reject_reason
    from rejected_files

),

rejection_reasons as (

    select
        source_system,
        source_entity,
        {{ dbt.listagg('reject_reason', "', '", 'order by reject_reason') }} as file_reject_reasons
    from distinct_reasons
    group by source_system, source_entity

),

clock as (

    select {{ utc_now() }} as now_at

),

final as (

    select
        totals.source_system,
        totals.source_entity,
        totals.files_loaded,
        totals.files_rejected,
        totals.files_duplicate,
        totals.rows_loaded,
        totals.rows_rejected,
        latest_file.last_file,
        latest_file.last_loaded_at,
        rejection_reasons.file_reject_reasons,
        cast(
            {{ dbt.datediff('latest_file.last_loaded_at', 'clock.now_at', 'minute') }} as {{ type_double() }}  -- noqa: LT05
        ) / 60 as hours_since_last_load
    from totals
    cross join clock
    left join latest_file
        on
            totals.source_system = latest_file.source_system
            and totals.source_entity = latest_file.source_entity
    left join rejection_reasons
        on
            totals.source_system = rejection_reasons.source_system
            and totals.source_entity = rejection_reasons.source_entity

)

select * from final
