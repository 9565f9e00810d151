-- Finished lags per lag kind, month of their finish date and length in business days
-- (marts.record_lags): counts, from which the page takes exact medians and p90s per month
-- (a histogram of small integers is much cheaper than quantiles over every record).
-- Region is the legal entity's region; an empty list of lag kinds means all three. The page
-- slices months by the period.
select
    l.lag_kind,
    date_trunc('month', l.finish_date)::date as finish_month,
    l.lag_business_days,
    max(l.sla_business_days) as sla_business_days,
    count(*) as records,
    count(*) filter (where l.is_sla_breach) as sla_breach_count
from marts.record_lags as l
where
    not l.is_open
    and l.finish_date is not null
    and (len($lag_kind) = 0 or list_contains($lag_kind, l.lag_kind))
    and (len($legal_entity) = 0 or list_contains($legal_entity, l.legal_entity))
    and (
        len($region) = 0
        or l.legal_entity in (
            select legal_entity from marts.dim_legal_entities where list_contains($region, region)
        )
    )
    and (
        len($client) = 0
        or l.client_id in (
            select client_id from marts.dim_clients where list_contains($client, client_name)
        )
    )
group by all
order by l.lag_kind, finish_month, l.lag_business_days
