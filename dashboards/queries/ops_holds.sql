-- Billing holds in force as of the snapshot's as-of date (marts.billing_holds, docs/erp.md
-- "The release gate and holds"): a held batch is not released, a held record not billed.
select
    h.scope,
    h.target,
    h.approver,
    h.reason,
    h.expires_on,
    h.placed_at
from marts.billing_holds as h
where h.is_in_force
order by h.expires_on, h.placed_at
