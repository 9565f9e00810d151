select
    system as source_system,
    entity as source_entity,
    reason,
    count(*) as rows,
    min(rejected_at) as first_rejected_at,
    max(rejected_at) as last_rejected_at
from quarantine.rejected_rows
group by all
order by rows desc, reason
