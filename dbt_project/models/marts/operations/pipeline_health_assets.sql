-- Per asset: last materialization, rows, rejected rows (raw tables), check results and
-- freshness status against the asset's freshness policy, as of now.

with

assets as (

    select * from {{ ref('stg_ops__dagster_asset_status') }}

),

checks as (

    select * from {{ ref('stg_ops__dagster_check_status') }}

),

sources as (

    select * from {{ ref('pipeline_health_sources') }}

),

check_totals as (

    select
        asset_key,
        cast(count(*) as {{ dbt.type_bigint() }}) as checks_total,
        cast(sum(case when not is_passed then 1 else 0 end) as {{ dbt.type_bigint() }})
            as checks_failed,
        cast(sum(case when check_status = 'never_run' then 1 else 0 end) as {{ dbt.type_bigint() }})
            as checks_never_run
    from checks
    group by asset_key

),

failed_check_names as (

    select
        asset_key,
        {{ dbt.listagg('check_name', "', '", 'order by check_name') }} as failed_checks
    from checks
    where not is_passed
    group by asset_key

),

clock as (

    select {{ utc_now() }} as now_at

),

with_age as (

    select
        assets.*,
        cast(
            {{ dbt.datediff('assets.last_materialized_at', 'clock.now_at', 'minute') }} as {{ type_double() }}  -- noqa: LT05
        ) / 60 as hours_since_materialized
    from assets
    cross join clock

),

final as (

    select
        with_age.asset_key,
        with_age.group_name,
        with_age.last_materialized_at,
        with_age.last_run_id,
        with_age.row_count,
        sources.rows_rejected,
        with_age.hours_since_materialized,
        with_age.freshness_warn_hours,
        with_age.freshness_fail_hours,
        case
            when with_age.freshness_fail_hours is null then 'no_policy'
            when with_age.last_materialized_at is null then 'never_materialized'
            when with_age.hours_since_materialized > with_age.freshness_fail_hours then 'fail'
            when with_age.hours_since_materialized > with_age.freshness_warn_hours then 'warn'
            else 'fresh'
        end as freshness_status,
        coalesce(check_totals.checks_total, 0) as checks_total,
        coalesce(check_totals.checks_failed, 0) as checks_failed,
        coalesce(check_totals.checks_never_run, 0) as checks_never_run,
        failed_check_names.failed_checks
    from with_age
    left join check_totals on with_age.asset_key = check_totals.asset_key
    left join failed_check_names on with_age.asset_key = failed_check_names.asset_key
    left join sources
        on
            with_age.asset_key
            = {{ dbt.concat(["'raw/'", 'sources.source_system', "'__'", 'sources.source_entity']) }}

)

select * from final
