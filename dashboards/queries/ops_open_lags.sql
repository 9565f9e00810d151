-- Records whose lag is past its SLA (marts.record_lags): the open ones first (still waiting at
-- the as-of date), then the finished breaches of the period by how late they were. Region is
-- the legal entity's region. At most 2,000 rows.
select
    l.lag_kind,
    l.is_open,
    l.record_kind,
    l.source_system,
    l.source_id,
    l.document_number,
    l.correlation_id,
    l.legal_entity,
    clients.client_name,
    l.project_code,
    l.start_event,
    l.started_at,
    l.finish_event,
    l.finished_at,
    coalesce(l.lag_business_days, l.open_age_business_days) as business_days,
    l.sla_business_days,
    coalesce(l.lag_business_days, l.open_age_business_days) - l.sla_business_days
        as business_days_over_sla
from marts.record_lags as l
left join marts.dim_clients as clients using (client_id)
where
    l.is_sla_breach
    and (l.is_open or (
        ($period_start is null or l.finish_date >= $period_start)
        and ($period_end is null or l.finish_date <= $period_end)
    ))
    and (len($legal_entity) = 0 or list_contains($legal_entity, l.legal_entity))
    and (
        len($region) = 0
        or l.legal_entity in (
            select legal_entity from marts.dim_legal_entities where list_contains($region, region)
        )
    )
    and (len($client) = 0 or list_contains($client, clients.client_name))
order by l.is_open desc, business_days_over_sla desc, l.started_at
limit 2000
