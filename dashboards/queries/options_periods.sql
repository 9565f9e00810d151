-- Filter options: the months of the working calendar (the page keeps those up to the as-of).
select distinct month_start_date
from marts.dim_calendar
order by month_start_date
