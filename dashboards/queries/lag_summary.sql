-- The lags summarised by the mart (marts.lag_summary): what lag_stats computes from the
-- records when no filter or period narrows them, read directly.
select
    lag_kind,
    sla_business_days,
    measured_count,
    open_count,
    median_days,
    p90_days,
    median_business_days,
    p90_business_days,
    sla_breach_count,
    open_past_sla_count
from marts.lag_summary
order by
    case lag_kind when 'time_approval' then 0 when 'expense_posting' then 1 else 2 end
