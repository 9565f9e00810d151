-- The deliver-to-bill funnel (marts.billing_funnel) per work month, legal entity and client:
-- hours and value of each stage. Value in the reporting currency, or per contract currency
-- (hours without a resolved rate count in hours only). Region is the legal entity's region.
-- The page slices months by the period (and the KPI windows), so this returns them all.
select
    f.work_month,
    coalesce(f.legal_entity, '(none)') as legal_entity,
    coalesce(entities.region, '(none)') as region,
    coalesce(clients.client_name, '(no client)') as client_name,
    case
        when $currency = 'contract' then coalesce(f.currency, '(no rate)')
        else (select reporting_currency from marts.fct_time_entries limit 1)
    end as currency,
    sum(f.time_entry_count) as time_entries,
    sum(f.delivered_hours) as delivered_hours,
    sum(f.approved_hours) as approved_hours,
    sum(f.billable_hours) as billable_hours,
    sum(f.batched_hours) as batched_hours,
    sum(f.invoiced_hours) as invoiced_hours,
    sum(f.paid_hours) as paid_hours,
    sum(
        case when $currency = 'contract' then f.delivered_value
        else f.delivered_value_reporting end
    ) as delivered_value,
    sum(case when $currency = 'contract' then f.approved_value else f.approved_value_reporting end)
        as approved_value,
    sum(case when $currency = 'contract' then f.billable_value else f.billable_value_reporting end)
        as billable_value,
    sum(case when $currency = 'contract' then f.batched_value else f.batched_value_reporting end)
        as batched_value,
    sum(case when $currency = 'contract' then f.invoiced_value else f.invoiced_value_reporting end)
        as invoiced_value,
    sum(case when $currency = 'contract' then f.paid_value else f.paid_value_reporting end)
        as paid_value
from marts.billing_funnel as f
left join marts.dim_legal_entities as entities using (legal_entity)
left join marts.dim_clients as clients using (client_id)
where
    (len($legal_entity) = 0 or list_contains($legal_entity, f.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
group by all
order by f.work_month, legal_entity, region, client_name, currency
