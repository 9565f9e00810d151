-- PSA vs ERP per record (marts.reconciliation_records): records, hours and amounts per
-- reconciliation status, difference reason, record kind and contract currency (the mart has
-- no reporting-currency amounts). Practice is the worker's; region the legal entity's.
-- Filters are semi-joins on the small dimensions, so the 1-row-per-record mart is scanned
-- once; the workers of the facts are read only when a practice is chosen.
select
    r.reconciliation_status,
    coalesce(r.difference_reason, '(matched)') as difference_reason,
    r.record_kind,
    coalesce(r.currency, '(none)') as currency,
    count(*) as records,
    sum(r.psa_hours) as psa_hours,
    sum(r.erp_hours) as erp_hours,
    sum(r.hours_difference) as hours_difference,
    sum(r.psa_amount) as psa_amount,
    sum(r.erp_amount) as erp_amount,
    sum(r.amount_difference) as amount_difference,
    sum(r.posted_amount_difference) as posted_amount_difference
from marts.reconciliation_records as r
where
    --@include reconciliation_filters
group by 1, 2, 3, 4
order by
    case any_value(r.reconciliation_status)
        when 'discrepancy' then 0 when 'held' then 1 when 'timing' then 2 else 3
    end,
    records desc
