-- Lags against their SLAs (marts.record_lags, docs/design.md §4), one row per lag kind (the kinds of
-- marts.lag_summary, also without records): finished lags whose finish date falls in the
-- window, median and p90 in calendar and business days, SLA breaches; open records (and those
-- already past the SLA) when the as-of date falls in the window. Without a window (nulls) the
-- figures equal marts.lag_summary. Region is the legal entity's region. An empty list of
-- lag kinds means all three.
with

lags as (
    select
        l.*,
        not l.is_open
        and l.finish_date is not null
        and ($window_start is null or l.finish_date >= $window_start)
        and ($window_end is null or l.finish_date <= $window_end) as is_measured,
        l.is_open
        and ($window_start is null or l.as_of_date >= $window_start)
        and ($window_end is null or l.as_of_date <= $window_end) as is_counted_open
    from marts.record_lags as l
    where
        (len($lag_kind) = 0 or list_contains($lag_kind, l.lag_kind))
        and (len($legal_entity) = 0 or list_contains($legal_entity, l.legal_entity))
        and (
            len($region) = 0
            or l.legal_entity in (
                select e.legal_entity
                from marts.dim_legal_entities as e
                where list_contains($region, e.region)
            )
        )
        and (
            len($client) = 0
            or l.client_id in (
                select client_id from marts.dim_clients where list_contains($client, client_name)
            )
        )
),

stats as (
    select
        lag_kind,
        count(*) filter (where is_measured) as measured_count,
        count(*) filter (where is_counted_open) as open_count,
        quantile_cont(lag_days, 0.5) filter (where is_measured) as median_days,
        quantile_cont(lag_days, 0.9) filter (where is_measured) as p90_days,
        quantile_cont(lag_business_days, 0.5) filter (where is_measured) as median_business_days,
        quantile_cont(lag_business_days, 0.9) filter (where is_measured) as p90_business_days,
        count(*) filter (where is_measured and is_sla_breach) as sla_breach_count,
        count(*) filter (where is_counted_open and is_sla_breach) as open_past_sla_count
    from lags
    group by lag_kind
)

select
    s.lag_kind,
    s.sla_business_days,
    coalesce(stats.measured_count, 0) as measured_count,
    coalesce(stats.open_count, 0) as open_count,
    stats.median_days,
    stats.p90_days,
    stats.median_business_days,
    stats.p90_business_days,
    coalesce(stats.sla_breach_count, 0) as sla_breach_count,
    coalesce(stats.open_past_sla_count, 0) as open_past_sla_count
from marts.lag_summary as s
left join stats using (lag_kind)
where len($lag_kind) = 0 or list_contains($lag_kind, s.lag_kind)
order by
    case s.lag_kind when 'time_approval' then 0 when 'expense_posting' then 1 else 2 end
