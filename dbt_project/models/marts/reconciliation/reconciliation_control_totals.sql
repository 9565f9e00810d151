-- Control totals per ERP batch as of the as-of date:
--   invoice          per ERP invoice (its client, contract and billing period): records,
--                    hours and amount of what the invoice's lines bill on the PSA / Concur
--                    side (hours x resolved rate, re-billable expense amounts) against the
--                    ERP lines (quantity, amount);
--   expense_journal  per ERP expense journal: Concur's posted amounts of the expense lines it
--                    posts against the journal's line amounts; Concur lines not posted yet
--                    are grouped per SAE batch, legal entity and currency, without a journal.
-- Built from the core facts, not from reconciliation_records, so the two tie out
-- independently (assert_reconciliation_control_totals_tie_out).

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

line_records as (

    select * from {{ ref('fct_invoice_line_records') }}

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

contracts as (

    select
        contract_id,
        billing_method
    from {{ ref('dim_contracts') }}

),

erp_postings as (

    select * from {{ ref('int_expense_posting_lines') }}

),

-- Invoices -----------------------------------------------------------------------------

issued as (

    select
        invoices.*,
        contracts.billing_method
    from invoices
    cross join as_of
    left join contracts
        on invoices.contract_id = contracts.contract_id
    where invoices.invoice_date <= as_of.as_of_date

),

erp_lines as (

    select
        invoice_lines.invoice_id,
        count(*) as erp_line_count,
        sum(invoice_lines.billed_record_count) as erp_record_count,
        count(case when invoice_lines.billed_record_count = 0 then 1 end) as unlinked_line_count,
        sum(case when invoice_lines.line_kind = 'labour' then invoice_lines.quantity end)
            as erp_hours,
        sum(case when invoice_lines.line_kind = 'labour' then invoice_lines.amount end)
            as erp_labour_amount,
        sum(case when invoice_lines.line_kind = 'expense' then invoice_lines.amount end)
            as erp_expense_amount,
        sum(invoice_lines.amount) as erp_amount
    from invoice_lines
    group by invoice_lines.invoice_id

),

billed_records as (

    select
        invoice_lines.invoice_id,
        issued.currency as invoice_currency,
        time_entries.hours,
        time_entries.billable_amount,
        time_entries.currency as time_currency,
        expenses.rebill_amount,
        expenses.contract_currency as expense_currency,
        time_entries.correlation_id is not null
        or expenses.correlation_id is not null
        or schedule_amounts.correlation_id is not null as is_known
    from line_records
    inner join invoice_lines
        on line_records.invoice_line_id = invoice_lines.invoice_line_id
    inner join issued
        on invoice_lines.invoice_id = issued.invoice_id
    left join time_entries
        on
            line_records.correlation_id = time_entries.correlation_id
            and line_records.record_kind = 'time_entry'
    left join expenses
        on
            line_records.correlation_id = expenses.correlation_id
            and line_records.record_kind = 'expense'
    -- a schedule amount (fixed fee, retainer, milestone) is known; it bills no hours
    left join {{ ref('int_contract_schedule_amounts') }} as schedule_amounts
        on line_records.correlation_id = schedule_amounts.correlation_id

),

psa_records as (

    select
        invoice_id,
        count(case when is_known then 1 end) as psa_record_count,
        sum(hours) as psa_hours,
        sum(billable_amount) as psa_labour_amount,
        sum(rebill_amount) as psa_expense_amount,
        count(
            case
                when
                    coalesce(time_currency, expense_currency) != invoice_currency
                    then 1
            end
        ) as other_currency_record_count
    from billed_records
    group by invoice_id

),

invoice_totals as (

    select
        'invoice' as control_kind,
        issued.invoice_id as batch_id,
        issued.invoice_number as batch_number,
        cast(null as {{ type_text() }}) as concur_batch_id,
        issued.client_id,
        issued.contract_id,
        issued.project_code,
        issued.billing_method,
        issued.legal_entity,
        issued.currency,
        issued.billing_period_start_date,
        issued.billing_period_end_date,
        issued.invoice_date as document_date,
        issued.is_released,
        case when issued.is_released then issued.released_date end as released_date,
        coalesce(psa_records.psa_record_count, 0) as psa_record_count,
        coalesce(erp_lines.erp_record_count, 0) as erp_record_count,
        coalesce(erp_lines.erp_line_count, 0) as erp_line_count,
        coalesce(psa_records.psa_hours, 0) as psa_hours,
        coalesce(erp_lines.erp_hours, 0) as erp_hours,
        coalesce(psa_records.psa_labour_amount, 0) as psa_labour_amount,
        coalesce(erp_lines.erp_labour_amount, 0) as erp_labour_amount,
        coalesce(psa_records.psa_expense_amount, 0) as psa_expense_amount,
        coalesce(erp_lines.erp_expense_amount, 0) as erp_expense_amount,
        coalesce(erp_lines.unlinked_line_count, 0) as unlinked_line_count,
        coalesce(psa_records.other_currency_record_count, 0) as other_currency_record_count
    from issued
    left join erp_lines
        on issued.invoice_id = erp_lines.invoice_id
    left join psa_records
        on issued.invoice_id = psa_records.invoice_id

),

invoice_reasons as (

    select
        *,
        case
            when erp_record_count > psa_record_count then 'unknown_records'
            when unlinked_line_count > 0 then 'unlinked_lines'
            when other_currency_record_count > 0 then 'currency_differs'
            when erp_hours != psa_hours then 'hours_differ'
            when erp_expense_amount != psa_expense_amount then 'expense_amount_differs'
            when erp_labour_amount < psa_labour_amount and billing_method = 'time_and_materials'
                then 'billed_below_resolved_rate'
            when erp_labour_amount > psa_labour_amount and billing_method = 'time_and_materials'
                then 'billed_above_resolved_rate'
            when erp_labour_amount != psa_labour_amount then 'agreed_amount'
        end as difference_reason
    from invoice_totals

),

-- Expense journals -------------------------------------------------------------------

posted as (

    select erp_postings.*
    from erp_postings
    cross join as_of
    where erp_postings.posted_date <= as_of.as_of_date

),

concur_lines as (

    -- the expense lines Concur approved and extracted by the as-of date, with the journal
    -- that posted each (if any)
    select
        expenses.batch_id,
        expenses.legal_entity,
        expenses.reimbursement_currency,
        expenses.report_entry_id,
        expenses.posted_amount,
        posted.journal_source_id
    from expenses
    cross join as_of
    left join posted
        on
            expenses.posting_line_source_id = posted.posting_line_source_id
            and expenses.is_posted
    where
        expenses.approved_at < as_of.as_of_end
        and expenses.batch_date <= as_of.as_of_date

),

concur_posted as (

    select
        journal_source_id,
        min(batch_id) as concur_batch_id,
        -- entries, as the ERP posts them (an allocated entry is several lines, one posting)
        count(distinct report_entry_id) as psa_record_count,
        sum(posted_amount) as psa_amount
    from concur_lines
    where journal_source_id is not null
    group by journal_source_id

),

concur_unposted as (

    select
        batch_id as concur_batch_id,
        legal_entity,
        reimbursement_currency as currency,
        count(distinct report_entry_id) as psa_record_count,
        sum(posted_amount) as psa_amount
    from concur_lines
    where journal_source_id is null
    group by batch_id, legal_entity, reimbursement_currency

),

known_entries as (

    -- the entries Concur approved and extracted by the as-of date (the ERP posts an entry
    -- as a whole, whatever the lines it was extracted as)
    select distinct expenses.report_entry_id
    from expenses
    cross join as_of
    where
        as_of.as_of_end > expenses.approved_at
        and as_of.as_of_date >= expenses.batch_date

),

journals as (

    select
        posted.journal_source_id,
        max(posted.journal_number) as journal_number,
        max(posted.legal_entity) as legal_entity,
        max(posted.currency) as currency,
        count(distinct posted.currency) as currency_count,
        max(posted.posted_date) as posted_date,
        count(*) as erp_record_count,
        sum(posted.amount) as erp_amount,
        count(known_entries.report_entry_id) as known_record_count
    from posted
    left join known_entries
        on posted.report_entry_id = known_entries.report_entry_id
    group by posted.journal_source_id

),

journal_totals as (

    select
        'expense_journal' as control_kind,
        journals.journal_source_id as batch_id,
        journals.journal_number as batch_number,
        concur_posted.concur_batch_id,
        journals.legal_entity,
        journals.currency,
        journals.posted_date,
        coalesce(concur_posted.psa_record_count, 0) as psa_record_count,
        journals.erp_record_count,
        coalesce(concur_posted.psa_amount, 0) as psa_amount,
        journals.erp_amount,
        case
            when journals.known_record_count < journals.erp_record_count
                then 'unknown_records'
            when journals.currency_count > 1 then 'currency_differs'
            when coalesce(concur_posted.psa_amount, 0) != journals.erp_amount
                then 'posted_amount_differs'
        end as difference_reason
    from journals
    left join concur_posted
        on journals.journal_source_id = concur_posted.journal_source_id

    union all

    select
        'expense_journal' as control_kind,
        cast(null as {{ type_text() }}) as batch_id,
        cast(null as {{ type_text() }}) as batch_number,
        concur_batch_id,
        legal_entity,
        currency,
        cast(null as date) as posted_date,
        psa_record_count,
        0 as erp_record_count,
        psa_amount,
        0 as erp_amount,
        'journal_not_posted' as difference_reason
    from concur_unposted

),

-- Both kinds ---------------------------------------------------------------------------

unioned as (

    select
        control_kind,
        batch_id,
        batch_number,
        concur_batch_id,
        client_id,
        contract_id,
        project_code,
        billing_method,
        legal_entity,
        currency,
        billing_period_start_date,
        billing_period_end_date,
        document_date,
        is_released,
        released_date,
        psa_record_count,
        erp_record_count,
        erp_line_count,
        psa_hours,
        erp_hours,
        psa_labour_amount + psa_expense_amount as psa_amount,
        erp_labour_amount + erp_expense_amount as erp_amount,
        psa_labour_amount,
        erp_labour_amount,
        psa_expense_amount,
        erp_expense_amount,
        difference_reason
    from invoice_reasons

    union all

    select
        control_kind,
        batch_id,
        batch_number,
        concur_batch_id,
        cast(null as {{ type_text() }}) as client_id,
        cast(null as {{ type_text() }}) as contract_id,
        cast(null as {{ type_text() }}) as project_code,
        cast(null as {{ type_text() }}) as billing_method,
        legal_entity,
        currency,
        cast(null as date) as billing_period_start_date,
        cast(null as date) as billing_period_end_date,
        posted_date as document_date,
        batch_id is not null as is_released,
        posted_date as released_date,
        psa_record_count,
        erp_record_count,
        erp_record_count as erp_line_count,
        cast(null as decimal(18, 4)) as psa_hours,
        cast(null as decimal(18, 4)) as erp_hours,
        psa_amount,
        erp_amount,
        cast(null as decimal(18, 2)) as psa_labour_amount,
        cast(null as decimal(18, 2)) as erp_labour_amount,
        psa_amount as psa_expense_amount,
        erp_amount as erp_expense_amount,
        difference_reason
    from journal_totals

),

final as (

    select
        {{ hash_key(['control_kind', 'batch_id', 'concur_batch_id', 'legal_entity', 'currency']) }}
            as control_total_id,
        control_kind,
        batch_id,
        batch_number,
        concur_batch_id,
        client_id,
        contract_id,
        project_code,
        billing_method,
        legal_entity,
        currency,
        billing_period_start_date,
        billing_period_end_date,
        document_date,
        is_released,
        released_date,
        cast(psa_record_count as bigint) as psa_record_count,
        cast(erp_record_count as bigint) as erp_record_count,
        cast(erp_line_count as bigint) as erp_line_count,
        cast(psa_hours as decimal(18, 4)) as psa_hours,
        cast(erp_hours as decimal(18, 4)) as erp_hours,
        cast(erp_hours - psa_hours as decimal(18, 4)) as hours_difference,
        cast(psa_amount as decimal(18, 2)) as psa_amount,
        cast(erp_amount as decimal(18, 2)) as erp_amount,
        cast(erp_amount - psa_amount as decimal(18, 2)) as amount_difference,
        cast(psa_labour_amount as decimal(18, 2)) as psa_labour_amount,
        cast(erp_labour_amount as decimal(18, 2)) as erp_labour_amount,
        cast(psa_expense_amount as decimal(18, 2)) as psa_expense_amount,
        cast(erp_expense_amount as decimal(18, 2)) as erp_expense_amount,
        case
            when difference_reason is null then 'matched'
            when difference_reason = 'journal_not_posted' then 'timing'
            when difference_reason = 'agreed_amount' then 'explained'
            else 'discrepancy'
        end as control_status,
        difference_reason,
        (select as_of.as_of_date from as_of) as as_of_date
    from unioned

)

select * from final
