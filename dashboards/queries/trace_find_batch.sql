-- A billing batch of the ERP outbox (ops.erp_outbox) by its key or ERP document / number.
select
    'batch' as record_kind,
    coalesce(o.erp_adapter, 'd2b') as source_system,
    o.batch_key as source_id,
    o.batch_key as correlation_id,
    cast(o.frozen_at as date) as record_date,
    concat(o.period, ' ', o.contract_ref, ' ', o.currency, ' ', o.total_amount, ' (', o.status, ')')
        as summary
from ops.erp_outbox as o
where
    o.batch_key = lower(trim($needle))
    or o.erp_document_id = trim($needle)
    or upper(o.erp_number) = upper(trim($needle))
limit 10
