-- Who owns a record the Trace page shows by id (a correlation id or a billing batch key):
-- its legal entity, that entity's region, its client and its worker's practice (none for
-- invoices and batches), one row per record carrying the key (none: no such record). The data
-- module shows the record only when every row is in scope.
with

owners as (
    select legal_entity, client_id, resource_id from marts.fct_time_entries
    where correlation_id = $record_key
    union all
    select legal_entity, client_id, resource_id from marts.fct_expenses
    where correlation_id = $record_key
    union all
    select legal_entity, client_id, null from marts.fct_invoices
    where correlation_id = $record_key
    union all
    select i.legal_entity, i.client_id, null
    from marts.fct_invoice_lines as l
    inner join marts.fct_invoices as i using (invoice_id)
    where l.correlation_id = $record_key
    union all
    select b.legal_entity, c.client_id, null
    from marts.fct_billing_batches as b
    left join marts.dim_clients as c on c.source_id = b.account_source_id
    where b.batch_key = $record_key
)

select
    o.legal_entity,
    entities.region,
    clients.client_name,
    resources.practice
from owners as o
left join marts.dim_legal_entities as entities on entities.legal_entity = o.legal_entity
left join marts.dim_clients as clients on clients.client_id = o.client_id
left join marts.dim_resources as resources on resources.resource_id = o.resource_id
