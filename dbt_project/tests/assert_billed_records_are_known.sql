-- Fails for every record an ERP invoice line says it bills that the canonical model does
-- not know (no fct_time_entries / fct_expenses row with its correlation id): the trace from
-- invoice back to source submission would break there.

-- an asset check of fct_invoice_line_records in Dagster (the test reads more than one model)
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_invoice_line_records'}}}) }}

with

billed as (

    select * from {{ ref('fct_invoice_line_records') }}

),

known as (

    select correlation_id from {{ ref('fct_time_entries') }}
    union all
    select correlation_id from {{ ref('fct_expenses') }}

)

select
    billed.invoice_line_id,
    billed.record_kind,
    billed.record_system,
    billed.record_source_id,
    billed.correlation_id
from billed
left join known
    on billed.correlation_id = known.correlation_id
where known.correlation_id is null
