-- Revenue leakage (marts.revenue_leakage, docs/design.md §4) per month of the record's date, cause,
-- legal entity and client, in the chosen currency mode. Practice is the practice of the
-- worker behind the time entry or expense. The page slices months by the period.
with

-- read only when a practice is chosen (the guard prunes the scans otherwise)
workers as (
    select correlation_id, resource_id from marts.fct_time_entries where len($practice) > 0
    union all
    select correlation_id, resource_id from marts.fct_expenses where len($practice) > 0
),

leakage as (
    select
        l.*,
        resources.practice
    from marts.revenue_leakage as l
    left join workers using (correlation_id)
    left join marts.dim_resources as resources using (resource_id)
)

select
    date_trunc('month', leakage.record_date)::date as record_month,
    leakage.cause,
    coalesce(leakage.legal_entity, '(none)') as legal_entity,
    coalesce(entities.region, '(none)') as region,
    coalesce(clients.client_name, '(no client)') as client_name,
    case when $currency = 'contract' then leakage.currency else leakage.reporting_currency end
        as currency,
    count(*) as records,
    sum(leakage.hours) as hours,
    sum(
        case when $currency = 'contract' then leakage.leakage_amount
        else leakage.leakage_amount_reporting end
    ) as leakage_amount
from leakage
left join marts.dim_legal_entities as entities using (legal_entity)
left join marts.dim_clients as clients using (client_id)
where
    (len($legal_entity) = 0 or list_contains($legal_entity, leakage.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
    and (len($practice) = 0 or list_contains($practice, leakage.practice))
group by all
order by record_month, cause, legal_entity, region, client_name, currency
