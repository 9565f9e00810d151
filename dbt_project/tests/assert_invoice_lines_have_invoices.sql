-- Fails for an exported ERP invoice line whose invoice was never exported. Compared with
-- every exported invoice, not with staging: staging holds the invoices created by the
-- as-of date, and a rebuild for a past date leaves later invoices (and their lines) out.

{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_erp__invoice_lines'}}}) }}

with

lines as (

    select distinct cast(invoice_internal_id as {{ type_text() }}) as invoice_source_id
    from {{ source('erp', 'invoice_lines') }}

),

invoices as (

    select distinct cast(internal_id as {{ type_text() }}) as invoice_source_id
    from {{ source('erp', 'invoices') }}

)

select lines.invoice_source_id
from lines
left join invoices
    on lines.invoice_source_id = invoices.invoice_source_id
where invoices.invoice_source_id is null
