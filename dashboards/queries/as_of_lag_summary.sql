-- The as-of date the marts were built for (lag_summary has a row per lag kind always).
select max(as_of_date) as as_of_date
from marts.lag_summary
