-- Fails if reconciliation_records and reconciliation_control_totals, built independently
-- from the core facts, disagree: over all invoices issued by the as-of date, the records
-- billed (counted once per line that bills them) and their hours; per expense journal (and
-- per SAE batch, legal entity and currency still waiting for one), the Concur entries (the
-- ERP posts an entry, whatever the lines it was extracted as), Concur's posted amounts and
-- the ERP's.

-- an asset check of reconciliation_control_totals in Dagster (the test reads two models)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'reconciliation_control_totals'}},
}) }}

with

records as (

    select * from {{ ref('reconciliation_records') }}

),

control_totals as (

    select * from {{ ref('reconciliation_control_totals') }}

),

expense_entries as (

    select
        expense_id,
        report_entry_id
    from {{ ref('fct_expenses') }}

),

invoices_from_records as (

    select
        'invoices' as scope,
        cast(null as {{ type_text() }}) as batch,
        coalesce(sum(billing_line_count), 0) as record_count,
        coalesce(sum(erp_hours * billing_line_count), 0) as hours,
        cast(null as decimal(18, 2)) as psa_amount,
        cast(null as decimal(18, 2)) as erp_amount
    from records
    where is_known and billing_line_count > 0

),

invoices_from_totals as (

    select
        'invoices' as scope,
        cast(null as {{ type_text() }}) as batch,
        coalesce(sum(psa_record_count), 0) as record_count,
        coalesce(sum(psa_hours), 0) as hours,
        cast(null as decimal(18, 2)) as psa_amount,
        cast(null as decimal(18, 2)) as erp_amount
    from control_totals
    where control_kind = 'invoice'

),

journals_from_records as (

    select
        'journal' as scope,
        coalesce(records.journal_number, 'unposted') as batch,
        count(distinct expense_entries.report_entry_id) as record_count,
        cast(null as decimal(18, 4)) as hours,
        sum(records.concur_posted_amount) as psa_amount,
        coalesce(sum(records.erp_posted_amount), 0) as erp_amount
    from records
    inner join expense_entries
        on records.record_id = expense_entries.expense_id
    where records.record_kind = 'expense' and records.is_known and records.is_approved
    group by coalesce(records.journal_number, 'unposted')

),

journals_from_totals as (

    select
        'journal' as scope,
        coalesce(batch_number, 'unposted') as batch,
        sum(psa_record_count) as record_count,
        cast(null as decimal(18, 4)) as hours,
        sum(psa_amount) as psa_amount,
        sum(erp_amount) as erp_amount
    from control_totals
    where control_kind = 'expense_journal'
    group by coalesce(batch_number, 'unposted')

),

from_records as (

    select * from invoices_from_records
    union all
    select * from journals_from_records

),

from_totals as (

    select * from invoices_from_totals
    union all
    select * from journals_from_totals

)

select
    coalesce(from_records.scope, from_totals.scope) as scope,
    coalesce(from_records.batch, from_totals.batch) as batch,
    from_records.record_count as records_record_count,
    from_totals.record_count as totals_record_count,
    from_records.hours as records_hours,
    from_totals.hours as totals_hours,
    from_records.psa_amount as records_psa_amount,
    from_totals.psa_amount as totals_psa_amount,
    from_records.erp_amount as records_erp_amount,
    from_totals.erp_amount as totals_erp_amount
from from_records
full outer join from_totals
    on
        from_records.scope = from_totals.scope
        and coalesce(from_records.batch, '') = coalesce(from_totals.batch, '')
where
    from_records.scope is null
    or from_totals.scope is null
    or from_records.record_count != from_totals.record_count
    or coalesce(from_records.hours, 0) != coalesce(from_totals.hours, 0)
    or coalesce(from_records.psa_amount, 0) != coalesce(from_totals.psa_amount, 0)
    or coalesce(from_records.erp_amount, 0) != coalesce(from_totals.erp_amount, 0)
