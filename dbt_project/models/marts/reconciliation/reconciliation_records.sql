-- Record-level reconciliation as of the as-of date: the PSA / Concur side (time entries
-- approved and billable; expenses approved, the re-billable ones also for billing; the
-- amounts a billing schedule makes due) against the ERP side (the invoice lines that bill
-- them, through fct_invoice_line_records, and the expense postings), matched by correlation
-- id. One row per record found on either side, with hours and amounts per side where
-- determinable and, for every difference, a status and a reason from a closed set (see
-- _reconciliation__models.yml).
-- Incremental by record: a daily run rebuilds every expense and schedule amount and the time
-- entries whose reconciliation may have changed (macro reconciliation_scope_keys), and keeps
-- the rest.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ stage_incremental_keys(reconciliation_scope_keys()) }}",
        "{{ delete_incremental_scope(reconciliation_records_in_scope(
            incremental_watermark() is none
        )) }}",
    ],
    post_hook=["{{ refresh_as_of_date() }}", "{{ record_incremental_state() }}"],
) }}

-- depends_on: {{ record_scope_refs() }}
{%- set full = incremental_watermark() is none %}

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

time_entries as {{ cte_not_materialized() }} (

    -- read twice (known_records): scanned for the columns each read needs, not copied
    select * from {{ ref('fct_time_entries') }}
    where {{ reconciliation_records_in_scope(full, record_kind="'time_entry'") }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

contracts as (

    select
        contract_id,
        billing_method,
        has_exception
    from {{ ref('dim_contracts') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

line_records as (

    select * from {{ ref('fct_invoice_line_records') }}
    where {{ reconciliation_records_in_scope(full) }}

),

erp_postings as (

    -- every ERP journal line, also those of expenses Concur never extracted (on no fact)
    select * from {{ ref('int_expense_posting_lines') }}

),

batches as (

    -- the outbox status of each Deliver-to-Bill billing batch (its current one: the outbox
    -- keeps no status by date)
    select
        batch_key,
        outbox_status
    from {{ ref('stg_ops__erp_outbox') }}

),

-- ERP side: the invoice lines that bill each record ----------------------------------------

billings as (

    -- every (record, invoice line) of an invoice issued by the as-of date
    select
        line_records.correlation_id,
        line_records.record_kind,
        line_records.record_system,
        line_records.record_source_id,
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoices.invoice_number,
        invoices.invoice_date,
        invoices.currency as invoice_currency,
        invoice_lines.line_kind,
        invoice_lines.unit_price,
        -- time and materials labour lines price hours (quantity x rate); other lines bill
        -- an agreed (fixed fee, retainer, milestone) or lump (expenses) amount
        coalesce(
            invoice_lines.line_kind = 'labour'
            and contracts.billing_method = 'time_and_materials',
            false
        ) as is_priced_per_hour,
        invoices.is_released,
        case when invoices.is_released then invoices.released_date end as released_date
    from line_records
    inner join invoice_lines
        on line_records.invoice_line_id = invoice_lines.invoice_line_id
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    cross join as_of
    left join contracts
        on invoices.contract_id = contracts.contract_id
    where invoices.invoice_date <= as_of.as_of_date

),

billed as (

    select * from (
        select
            billings.*,
            count(*) over (partition by billings.correlation_id) as billing_line_count,
            -- the line that counts: released first, then the earliest
            row_number() over (
                partition by billings.correlation_id
                order by
                    case when billings.is_released then 0 else 1 end,
                    billings.released_date nulls last,
                    billings.invoice_date,
                    billings.invoice_line_id
            ) as billing_rank
        from billings
    ) as ranked_billings
    where billing_rank = 1

),

-- PSA / Concur side -------------------------------------------------------------------

time_records as (

    select
        time_entries.correlation_id,
        'time_entry' as record_kind,
        time_entries.time_entry_id as record_id,
        time_entries.source_system,
        time_entries.source_id,
        time_entries.legal_entity,
        time_entries.client_id,
        time_entries.contract_id,
        time_entries.project_id,
        time_entries.project_code,
        time_entries.work_date as record_date,
        case when time_entries.is_approved then time_entries.approved_at end as approved_at,
        time_entries.is_approved,
        coalesce(time_entries.is_billable, false) as is_billable,
        time_entries.is_valid,
        time_entries.exception_reasons,
        coalesce(time_entries.has_contract_exception, false) as has_contract_exception,
        time_entries.hours,
        time_entries.currency,
        time_entries.resolved_bill_rate,
        time_entries.billable_amount as amount,
        time_entries.batch_key,
        cast(null as {{ type_text() }}) as reimbursement_currency,
        cast(null as decimal(18, 2)) as concur_posted_amount,
        cast(null as {{ type_text() }}) as posting_line_source_id,
        time_exclusions.exclusion_reason as time_billing_exclusion
    from time_entries
    left join {{ ref('wip_excluded_time_entries') }} as time_exclusions
        on time_entries.correlation_id = time_exclusions.correlation_id

),

expense_records as (

    -- Concur extracts a report after its final approval: an expense known by the as-of
    -- date (extracted and approved by then) is approved.
    select
        expenses.correlation_id,
        'expense' as record_kind,
        expenses.expense_id as record_id,
        expenses.source_system,
        expenses.source_id,
        expenses.legal_entity,
        expenses.client_id,
        expenses.contract_id,
        expenses.project_id,
        expenses.project_code,
        expenses.transaction_date as record_date,
        expenses.approved_at,
        coalesce(
            expenses.approved_at < as_of.as_of_end and expenses.batch_date <= as_of.as_of_date,
            false
        ) as is_approved,
        -- a personal line is the employee's own money: never on the billing side
        coalesce(expenses.is_billable and not expenses.is_personal, false) as is_billable,
        expenses.is_valid,
        expenses.exception_reasons,
        coalesce(contracts.has_exception, false) as has_contract_exception,
        cast(null as decimal(12, 4)) as hours,
        expenses.contract_currency as currency,
        cast(null as decimal(18, 4)) as resolved_bill_rate,
        expenses.rebill_amount as amount,
        expenses.batch_key,
        expenses.reimbursement_currency,
        cast(expenses.posted_amount as decimal(18, 2)) as concur_posted_amount,
        case when expenses.is_posted then expenses.posting_line_source_id end
            as posting_line_source_id,
        cast(null as {{ type_text() }}) as time_billing_exclusion
    from expenses
    cross join as_of
    left join contracts
        on expenses.contract_id = contracts.contract_id

),

-- the amounts a contract's billing schedule makes due (int_contract_schedule_amounts), each a
-- record billed at its agreed amount: ready to bill on its billable date (its approval), on
-- the billing side when it has an amount (a retainer period without overage has none)
schedule_records as (

    select
        schedule_amounts.correlation_id,
        schedule_amounts.line_kind as record_kind,
        cast(null as {{ type_text() }}) as record_id,
        'salesforce' as source_system,
        schedule_amounts.schedule_line_source_id as source_id,
        schedule_contracts.legal_entity,
        schedule_contracts.client_id,
        schedule_contracts.contract_id,
        cast(null as {{ type_text() }}) as project_id,
        schedule_contracts.project_code,
        schedule_amounts.billable_date as record_date,
        cast(schedule_amounts.billable_date as timestamp) as approved_at,
        coalesce(schedule_amounts.billable_date <= as_of.as_of_date, false) as is_approved,
        coalesce(schedule_amounts.amount > 0, false) as is_billable,
        true as is_valid,
        cast(null as {{ type_text() }}) as exception_reasons,
        coalesce(schedule_contracts.has_exception, false) as has_contract_exception,
        -- a retainer overage bills hours (at the overage rate); a fee bills none
        case
            when schedule_amounts.line_kind = 'retainer_overage' then schedule_amounts.quantity
        end as hours,
        schedule_contracts.currency,
        cast(null as decimal(18, 4)) as resolved_bill_rate,
        schedule_amounts.amount,
        schedule_batches.batch_key,
        cast(null as {{ type_text() }}) as reimbursement_currency,
        cast(null as decimal(18, 2)) as concur_posted_amount,
        cast(null as {{ type_text() }}) as posting_line_source_id,
        cast(null as {{ type_text() }}) as time_billing_exclusion
    from {{ ref('int_contract_schedule_amounts') }} as schedule_amounts
    cross join as_of
    left join {{ ref('dim_contracts') }} as schedule_contracts
        on schedule_amounts.contract_source_id = schedule_contracts.source_id
    left join {{ ref('stg_ops__erp_outbox_correlations') }} as schedule_batches
        on schedule_amounts.correlation_id = schedule_batches.correlation_id

),

known_records as {{ cte_not_materialized() }} (

    -- read twice, the second time for a few columns: recomputed, not materialized
    select * from time_records
    union all
    select * from expense_records
    union all
    select * from schedule_records

),

posted as (

    select erp_postings.*
    from erp_postings
    cross join as_of
    where erp_postings.posted_date <= as_of.as_of_date

),

-- Records on either side: approved billable time, approved expenses, anything the ERP
-- bills or posts, including references to records the facts do not know.
records as (

    select
        known_records.*,
        true as is_known
    from known_records

    union all

    -- ERP postings of expense entries Concur never extracted (as of the as-of date)
    select
        {{ correlation_id("'concur'", "'expense'", 'posted.report_entry_id') }}
            as correlation_id,
        'expense' as record_kind,
        cast(null as {{ type_text() }}) as record_id,
        'concur' as source_system,
        posted.report_entry_id as source_id,
        posted.legal_entity,
        cast(null as {{ type_text() }}) as client_id,
        cast(null as {{ type_text() }}) as contract_id,
        cast(null as {{ type_text() }}) as project_id,
        cast(null as {{ type_text() }}) as project_code,
        cast(null as date) as record_date,
        cast(null as timestamp) as approved_at,
        false as is_approved,
        false as is_billable,
        false as is_valid,
        cast(null as {{ type_text() }}) as exception_reasons,
        false as has_contract_exception,
        cast(null as decimal(12, 4)) as hours,
        cast(null as {{ type_text() }}) as currency,
        cast(null as decimal(18, 4)) as resolved_bill_rate,
        cast(null as decimal(18, 2)) as amount,
        cast(null as {{ type_text() }}) as batch_key,
        cast(null as {{ type_text() }}) as reimbursement_currency,
        cast(null as decimal(18, 2)) as concur_posted_amount,
        posted.posting_line_source_id,
        cast(null as {{ type_text() }}) as time_billing_exclusion,
        false as is_known
    from posted
    where
        -- the ERP posts an entry as a whole: known when any line of the entry is
        posted.report_entry_id not in (
            select expenses.report_entry_id
            from expenses
            inner join expense_records
                on expenses.expense_id = expense_records.record_id
            where expense_records.is_approved
        )
        and {{ correlation_id("'concur'", "'expense'", 'posted.report_entry_id') }}
        not in (select billed.correlation_id from billed)

),

in_scope as (

    -- each record with the line billing it, and the lines billing unknown records
    select
        coalesce(records.correlation_id, billed.correlation_id) as correlation_id,
        coalesce(records.record_kind, billed.record_kind) as record_kind,
        records.record_id,
        coalesce(records.source_system, billed.record_system) as source_system,
        coalesce(records.source_id, billed.record_source_id) as source_id,
        records.legal_entity,
        records.client_id,
        records.contract_id,
        records.project_id,
        records.project_code,
        records.record_date,
        records.approved_at,
        coalesce(records.is_approved, false) as is_approved,
        coalesce(records.is_billable, false) as is_billable,
        coalesce(records.is_valid, false) as is_valid,
        records.exception_reasons,
        coalesce(records.has_contract_exception, false) as has_contract_exception,
        records.hours,
        records.currency,
        records.resolved_bill_rate,
        records.amount,
        records.batch_key,
        records.reimbursement_currency,
        records.concur_posted_amount,
        records.posting_line_source_id,
        records.time_billing_exclusion,
        coalesce(records.is_known, false) as is_known,
        billed.invoice_id,
        billed.invoice_line_id,
        billed.invoice_number,
        billed.invoice_currency,
        billed.line_kind,
        billed.unit_price,
        billed.is_priced_per_hour,
        coalesce(billed.is_released, false) as is_invoice_released,
        billed.released_date,
        coalesce(billed.billing_line_count, 0) as billing_line_count
    from records
    full outer join billed
        on records.correlation_id = billed.correlation_id
    where
        (records.is_approved and (records.is_billable or records.record_kind = 'expense'))
        or billed.correlation_id is not null
        or not records.is_known

),

-- An invoice of the record's contract passed it by: it was issued on or after the record's
-- approval date for a billing period that covers the record's date, yet does not bill it.
contract_invoices as (

    select
        invoices.contract_id,
        invoices.invoice_date,
        invoices.billing_period_end_date as period_end_date
    from invoices
    cross join as_of
    where invoices.invoice_date <= as_of.as_of_date

),

passed_over as (

    select
        known_records.correlation_id,
        min(contract_invoices.invoice_date) as first_passing_invoice_date
    from known_records
    inner join contract_invoices
        on
            known_records.contract_id = contract_invoices.contract_id
            and known_records.record_date <= contract_invoices.period_end_date
            and cast(known_records.approved_at as date) <= contract_invoices.invoice_date
    where known_records.is_approved and known_records.is_billable
    group by known_records.correlation_id

),

-- Both sides and the reasons ------------------------------------------------------------

matched as (

    select
        in_scope.*,
        in_scope.is_approved and in_scope.is_billable as is_on_billing_side,
        contracts.billing_method,
        passed_over.first_passing_invoice_date,
        batches.outbox_status as batch_status,
        posted.journal_number,
        posted.posted_date,
        posted.currency as posting_currency,
        -- a line of an entry extracted as several compares with its share of the posting
        cast(coalesce(posted_shares.erp_posted_amount, posted.amount) as decimal(18, 2))
            as erp_posted_amount
    from in_scope
    left join passed_over
        on in_scope.correlation_id = passed_over.correlation_id
    left join contracts
        on in_scope.contract_id = contracts.contract_id
    left join batches
        on in_scope.batch_key = batches.batch_key
    left join posted
        on in_scope.posting_line_source_id = posted.posting_line_source_id
    left join expenses as posted_shares
        on
            in_scope.record_id = posted_shares.expense_id
            and in_scope.posting_line_source_id = posted_shares.posting_line_source_id

),

reasoned as (

    select
        matched.*,
        case
            -- the ERP bills it
            when matched.billing_line_count > 0 and not matched.is_known
                then 'billed_record_unknown'
            when matched.billing_line_count > 0 and not matched.is_approved
                then 'invoiced_not_approved'
            when matched.billing_line_count > 0 and not matched.is_billable
                then 'invoiced_not_billable'
            when
                matched.billing_line_count > 0
                and (not matched.is_valid or matched.has_contract_exception)
                then 'billed_while_excepted'
            when matched.billing_line_count > 1
                then 'billed_more_than_once'
            when matched.billing_line_count > 0 and not matched.is_invoice_released
                then 'on_unreleased_invoice'
            when matched.billing_line_count > 0 and matched.currency != matched.invoice_currency
                then 'billed_currency_differs'
            when
                matched.billing_line_count > 0
                and matched.is_priced_per_hour
                and matched.unit_price < matched.resolved_bill_rate
                then 'billed_below_resolved_rate'
            when
                matched.billing_line_count > 0
                and matched.is_priced_per_hour
                and matched.unit_price > matched.resolved_bill_rate
                then 'billed_above_resolved_rate'
            when matched.billing_line_count > 0
                then null
            -- approved and billable, but no invoice line bills it
            when not matched.is_on_billing_side
                then null
            when not matched.is_valid
                then 'excepted_not_billable'
            when matched.contract_id is null
                then 'no_contract'
            when matched.has_contract_exception
                then 'contract_on_hold'
            -- valid work the contract's terms keep off time billing (wip_excluded_time_entries):
            -- past its not-to-exceed cap, or hours of a contract billed by its schedule, whose
            -- amounts are records of their own
            when matched.time_billing_exclusion = 'over_cap'
                then 'over_cap'
            when matched.time_billing_exclusion = 'billed_by_schedule'
                then 'billed_by_schedule'
            -- frozen into a Deliver-to-Bill billing batch the ERP refused for good: it stays
            -- unbilled until the batch is fixed and replayed
            when matched.batch_status = 'dead_letter'
                then 'billing_batch_dead_letter'
            -- frozen into a Deliver-to-Bill billing batch the ERP has not invoiced yet
            when matched.batch_key is not null
                then 'in_billing_batch'
            when matched.first_passing_invoice_date is not null
                then 'skipped_by_invoice'
            else 'awaiting_invoice'
        end as billing_reason,
        case
            when matched.record_kind != 'expense'
                then null
            when not matched.is_known and matched.posting_line_source_id is not null
                then 'posted_record_unknown'
            when not matched.is_known
                then null
            when matched.posting_line_source_id is null
                then 'expense_not_posted'
            when
                matched.erp_posted_amount != matched.concur_posted_amount
                or matched.posting_currency != matched.reimbursement_currency
                then 'posted_amount_differs'
        end as posting_reason
    from matched

),

sided as (

    -- each side's hours and amount, where the side can tell them for this one record
    select
        reasoned.*,
        -- PSA / Concur side: approved billable records (contract currency)
        case when reasoned.is_on_billing_side then reasoned.hours end as psa_hours,
        case when reasoned.is_on_billing_side then reasoned.amount end as psa_amount,
        -- ERP side: a labour line's quantity counts the hours of the records it bills; only
        -- a line priced per hour gives a record its own amount (hours x the line's rate)
        case
            when reasoned.billing_line_count > 0 and reasoned.line_kind = 'labour'
                then reasoned.hours
        end as erp_hours,
        case
            when reasoned.is_priced_per_hour
                then {{ exact_money('reasoned.hours * reasoned.unit_price') }}
        end as erp_amount,
        coalesce(reasoned.billing_reason, reasoned.posting_reason) as difference_reason
    from reasoned

),

final as (

    select
        {{ hash_key(['correlation_id']) }} as reconciliation_record_id,
        correlation_id,
        record_kind,
        record_id,
        source_system,
        source_id,
        legal_entity,
        client_id,
        contract_id,
        project_id,
        project_code,
        billing_method,
        record_date,
        approved_at,
        is_known,
        is_approved,
        is_billable,
        is_valid,
        exception_reasons,
        has_contract_exception,
        is_on_billing_side,

        -- PSA / Concur side (contract currency)
        currency,
        cast(psa_hours as decimal(12, 4)) as psa_hours,
        cast(
            case when is_on_billing_side then resolved_bill_rate end as decimal(18, 4)
        ) as resolved_bill_rate,
        cast(psa_amount as decimal(18, 2)) as psa_amount,

        -- ERP invoice side (invoice currency)
        batch_key,
        invoice_id,
        invoice_line_id,
        invoice_number,
        invoice_currency,
        is_invoice_released,
        released_date,
        cast(billing_line_count as integer) as billing_line_count,
        cast(erp_hours as decimal(12, 4)) as erp_hours,
        cast(case when is_priced_per_hour then unit_price end as decimal(18, 4)) as billed_rate,
        cast(erp_amount as decimal(18, 2)) as erp_amount,

        -- differences, ERP minus PSA: null where a side cannot tell (a record the facts do
        -- not know, a line at an agreed or lump amount, another currency)
        cast(
            case
                when record_kind = 'time_entry' and is_known
                    then coalesce(erp_hours, 0) - coalesce(psa_hours, 0)
            end as decimal(12, 4)
        ) as hours_difference,
        cast(
            case
                when not is_known then null
                when billing_line_count > 0 and not is_priced_per_hour then null
                when billing_line_count > 0 and currency != invoice_currency then null
                when billing_line_count = 0 and not is_on_billing_side then null
                else coalesce(erp_amount, 0) - coalesce(psa_amount, 0)
            end as decimal(18, 2)
        ) as amount_difference,

        -- expense posting (reimbursement currency)
        reimbursement_currency,
        concur_posted_amount,
        journal_number,
        posting_line_source_id,
        posted_date,
        posting_currency,
        erp_posted_amount,
        cast(
            case
                when posting_currency = reimbursement_currency
                    then erp_posted_amount - concur_posted_amount
            end as decimal(18, 2)
        ) as posted_amount_difference,

        -- outcome
        billing_reason,
        posting_reason,
        difference_reason,
        case
            when difference_reason is null then 'matched'
            when difference_reason in (
                'awaiting_invoice',
                'in_billing_batch',
                'on_unreleased_invoice',
                'expense_not_posted'
            ) then 'timing'
            when difference_reason in (
                'excepted_not_billable',
                'contract_on_hold',
                'no_contract',
                'over_cap',
                'billed_by_schedule'
            ) then 'held'
            else 'discrepancy'
        end as reconciliation_status,
        first_passing_invoice_date,
        (select as_of.as_of_date from as_of) as as_of_date
    from sided

)

select * from final
