-- Realization and margin (marts.project_financials_monthly, docs/design.md §4) per work month,
-- practice and region of the workers, legal entity billing the project and client, in the
-- chosen currency mode: recognized revenue, invoiced (billed) value, cost and margin =
-- recognized revenue - cost. Ratios are taken by the page as ratios of these sums. The page
-- slices months.
select
    p.month_start_date,
    -- a worker HR does not know is unmatched; a contract's revenue in a month without any
    -- work or spend on its projects (a retainer's fee) has no worker
    coalesce(p.practice, case when p.hours = 0 and p.total_cost = 0 then '(no work)' end,
        '(unmatched)') as practice,
    coalesce(p.region, case when p.hours = 0 and p.total_cost = 0 then '(no work)' end,
        '(unmatched)') as region,
    coalesce(p.project_legal_entity, p.legal_entity, '(none)') as legal_entity,
    coalesce(p.client_name, '(internal or no client)') as client_name,
    case when $currency = 'contract' then p.currency else p.reporting_currency end as currency,
    sum(p.hours) as hours,
    sum(p.billable_hours) as billable_hours,
    sum(p.invoiced_hours) as invoiced_hours,
    sum(case when $currency = 'contract' then p.billable_value else p.billable_value_reporting end)
        as billable_value,
    sum(case when $currency = 'contract' then p.invoiced_value else p.invoiced_value_reporting end)
        as invoiced_value,
    sum(
        case when $currency = 'contract' then p.invoiced_value_at_resolved_rate
        else p.invoiced_value_at_resolved_rate_reporting end
    ) as invoiced_value_at_resolved_rate,
    sum(
        case when $currency = 'contract' then p.recognized_revenue
        else p.recognized_revenue_reporting end
    ) as recognized_revenue,
    sum(case when $currency = 'contract' then p.labour_cost else p.labour_cost_reporting end)
        as labour_cost,
    sum(case when $currency = 'contract' then p.expense_cost else p.expense_cost_reporting end)
        as expense_cost,
    sum(case when $currency = 'contract' then p.total_cost else p.total_cost_reporting end)
        as total_cost,
    sum(case when $currency = 'contract' then p.margin else p.margin_reporting end) as margin
from marts.project_financials_monthly as p
where
    (
        len($legal_entity) = 0
        or list_contains($legal_entity, coalesce(p.project_legal_entity, p.legal_entity))
    )
    and (len($region) = 0 or list_contains($region, p.region))
    and (len($practice) = 0 or list_contains($practice, p.practice))
    and (len($client) = 0 or list_contains($client, p.client_name))
group by all
order by month_start_date, practice, region, legal_entity, client_name, currency
