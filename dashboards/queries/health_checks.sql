-- The asset checks that did not pass at their latest evaluation, blocking ones first.
select
    check_outcome,
    asset_key,
    check_name,
    severity,
    evaluated_at,
    run_id
from marts.pipeline_health_checks
where check_outcome in ('failed', 'warning')
order by
    case check_outcome when 'failed' then 0 else 1 end,
    asset_key,
    check_name
