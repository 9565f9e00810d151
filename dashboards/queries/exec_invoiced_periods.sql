-- Billing periods of the firm's invoices (marts.fct_invoices) and whether every invoice of a
-- period is released: the Executive page's complete-month rule (docs/design.md §8) reads
-- them. Calendar facts only, no client and no amount.
select
    i.billing_period_start_date as period_start,
    i.billing_period_end_date as period_end,
    count(*) as invoices,
    bool_and(i.is_released) as all_released
from marts.fct_invoices as i
where i.billing_period_start_date is not null and i.billing_period_end_date is not null
group by all
order by period_end, period_start
