-- ERP expense journal lines: the latest export of each line (a re-export carries the
-- corrected line). One definition for the expense facts and the reconciliation marts.
-- The ERP posts a Concur entry as a whole: a line refers to the entry (`report_entry_id`),
-- not to the SAE journal lines the entry was extracted as.

with

postings as (

    select * from {{ ref('stg_erp__expense_postings') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by posting_line_source_id
            order by ingested_at desc, source_file desc, source_row_number desc
        ) as version_rank
    from postings

)

select
    posting_line_source_id,
    journal_source_id,
    journal_number,
    expense_source_id as report_entry_id,
    legal_entity,
    posted_date,
    amount,
    currency
from ranked
where version_rank = 1
