-- WIP (marts.unbilled_approved_hours, docs/design.md §4) per legal entity and client of the
-- project's contract, with the aging buckets. Currency mode: reporting (one currency) or
-- contract (one row per contract currency). Region is the legal entity's region.
with

wip as (
    select
        w.*,
        contracts.legal_entity,
        contracts.client_id
    from marts.unbilled_approved_hours as w
    left join marts.dim_contracts as contracts using (contract_id)
)

select
    coalesce(wip.legal_entity, '(none)') as legal_entity,
    coalesce(entities.region, '(none)') as region,
    coalesce(clients.client_name, '(no client)') as client_name,
    case
        when $currency = 'contract' then coalesce(wip.currency, '(no rate)')
        else wip.reporting_currency
    end as currency,
    count(*) as projects,
    sum(wip.time_entry_count) as time_entries,
    sum(wip.unbilled_approved_hours) as unbilled_hours,
    sum(
        case when $currency = 'contract' then wip.unbilled_value
        else wip.unbilled_value_reporting end
    ) as unbilled_value,
    -- every aging bucket: hours, value in the contract currency (value_aged_*, meaningful
    -- in contract mode, one row per currency) and in the reporting currency
    -- (value_aged_*_reporting); the page reads the value columns of its currency mode
    sum(columns('^(hours|value)_aged_')),
    min(wip.oldest_approved_at) as oldest_approved_at
from wip
left join marts.dim_legal_entities as entities using (legal_entity)
left join marts.dim_clients as clients using (client_id)
where
    (len($legal_entity) = 0 or list_contains($legal_entity, wip.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
group by all
order by unbilled_hours desc, legal_entity, region, client_name, currency
