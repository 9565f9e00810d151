-- Revenue recognition per month (marts.contract_revenue_monthly, docs/design.md §4): revenue
-- recognized, billed (labour lines released in the month) and the month-end contract assets
-- (recognized above billed) and liabilities (billed above recognized), per legal entity and
-- client of the contract. Currency mode: reporting (each contract's month at the month's
-- last FX rate) or contract (one row per contract currency). Region is the legal entity's
-- region; contracts have no practice.
with

positions as (
    select
        r.*,
        contracts.legal_entity,
        contracts.client_id
    from marts.contract_revenue_monthly as r
    left join marts.dim_contracts as contracts using (contract_id)
)

select
    positions.month_start_date,
    coalesce(positions.legal_entity, '(none)') as legal_entity,
    coalesce(entities.region, '(none)') as region,
    coalesce(clients.client_name, '(no client)') as client_name,
    case
        when $currency = 'contract' then positions.currency else positions.reporting_currency
    end as currency,
    count(*) as contracts,
    sum(
        case when $currency = 'contract' then positions.recognized_revenue
        else positions.recognized_revenue_reporting end
    ) as recognized_revenue,
    sum(
        case when $currency = 'contract' then positions.billed_amount
        else positions.billed_amount_reporting end
    ) as billed,
    sum(
        case when $currency = 'contract' then positions.contract_asset
        else positions.contract_asset_reporting end
    ) as contract_assets,
    sum(
        case when $currency = 'contract' then positions.contract_liability
        else positions.contract_liability_reporting end
    ) as contract_liabilities
from positions
left join marts.dim_legal_entities as entities using (legal_entity)
left join marts.dim_clients as clients using (client_id)
where
    (len($legal_entity) = 0 or list_contains($legal_entity, positions.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, clients.client_name))
group by all
order by month_start_date, legal_entity, region, client_name, currency
