-- Fails for every time entry whose tax code from the tax rules seed (contract legal entity
-- x client country x labour) differs from the tax code of the released ERP invoice line
-- that billed it: the seed and the ERP's taxes would disagree.

-- an asset check of fct_time_entries in Dagster (the test reads more than one model)
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_time_entries'}}}) }}

with

entries as (

    select
        source_id,
        invoice_line_id,
        tax_code
    from {{ ref('fct_time_entries') }}
    where is_invoiced

),

lines as (

    select
        invoice_line_id,
        tax_code
    from {{ ref('fct_invoice_lines') }}

)

select
    entries.source_id,
    entries.tax_code as seed_tax_code,
    lines.tax_code as invoice_tax_code
from entries
inner join lines
    on entries.invoice_line_id = lines.invoice_line_id
where entries.tax_code is distinct from lines.tax_code
