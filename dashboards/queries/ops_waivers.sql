-- Exception waivers in force as of the snapshot's as-of date (marts.billing_waivers, docs/erp.md
-- "Exception waivers"): a record whose every exception is waived is billed.
select
    w.correlation_id,
    w.exception_code,
    w.approver,
    w.reason,
    w.expires_on,
    w.is_record_waived,
    w.placed_at
from marts.billing_waivers as w
where w.is_in_force
order by w.expires_on, w.placed_at
