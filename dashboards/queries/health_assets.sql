select
    asset_key,
    group_name,
    freshness_status,
    last_materialized_at,
    round(hours_since_materialized, 1) as hours_since_materialized,
    row_count,
    rows_rejected,
    checks_total,
    checks_failed,
    failed_checks
from marts.pipeline_health_assets
order by
    case freshness_status when 'fail' then 0 when 'warn' then 1 else 2 end,
    checks_failed desc,
    asset_key
