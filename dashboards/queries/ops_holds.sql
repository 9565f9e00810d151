-- Billing holds in force (ops.billing_holds, docs/erp.md "The release gate and holds"): a
-- held batch is not released, a held record not billed, until the expiry or a lift.
select
    h.scope,
    h.target,
    h.approver,
    h.reason,
    h.expires_on,
    h.placed_at
from ops.billing_holds as h
where
    h.hold_id not in (select l.hold_id from ops.billing_hold_lifts as l)
    and h.expires_on > current_date
order by h.expires_on, h.placed_at
