-- What the exception queue holds from billing, by owner team and reason.
select
    owner_team,
    reason,
    severity,
    count(*) as records,
    min(first_seen_date) as oldest_first_seen
from marts.billing_exceptions
group by all
order by owner_team, records desc, reason, severity
