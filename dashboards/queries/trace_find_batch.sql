-- A billing batch (marts.fct_billing_batches) by its key or ERP document / number.
select
    'batch' as record_kind,
    coalesce(b.erp_adapter, 'd2b') as source_system,
    b.batch_key as source_id,
    b.batch_key as correlation_id,
    cast(b.frozen_at as date) as record_date,
    concat(
        b.billing_period, ' ', b.contract_source_id, ' ', b.currency, ' ', b.total_amount,
        ' (', b.outbox_status, ')'
    ) as summary,
    b.legal_entity,
    entities.region,
    clients.client_name
from marts.fct_billing_batches as b
left join marts.dim_legal_entities as entities on entities.legal_entity = b.legal_entity
left join marts.dim_clients as clients on clients.source_id = b.account_source_id
where
    b.batch_key = lower(trim($needle))
    or b.erp_document_id = trim($needle)
    or upper(b.erp_number) = upper(trim($needle))
limit 10
