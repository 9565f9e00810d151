-- The as-of date the marts were built for (fallback when lag_summary is not published).
select max(as_of_date) as as_of_date
from marts.billing_funnel
