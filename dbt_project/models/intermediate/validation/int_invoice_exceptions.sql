-- Exceptions of ERP invoices: a customer that matches no Salesforce account, explicitly or
-- through the identity mappings (docs/design.md §3: unmatched records are exceptions).

with

invoices as (

    select * from {{ ref('int_invoices_enriched') }}

),

unmatched_client as (

    select
        invoice_source_id as source_id,
        'unmatched_client' as reason,
        'customer ' || customer_source_id || ' matches no account' as detail
    from invoices
    where has_accounts and account_source_id is null

)

select
    'erp' as source_system,
    'invoices' as source_entity,
    source_id,
    reason,
    detail
from unmatched_client
