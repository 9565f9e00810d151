-- The records the billing write-back may put on an invoice (docs/design.md §6 step 1): one row per
-- time entry or expense, in the contract of `erp.candidates` (the write-back groups rows
-- into invoice lines and batches, so batch and line keys are computed where they are
-- checked). A record is a candidate when, as of the as-of date, it is
--   approved, billable, valid (no record-level exception) and on a contract without a
--   contract-level exception, has a price (labour: a resolved bill rate; expense: a rebill
--   amount in the contract currency), is on no ERP invoice line and in no billing batch yet,
--   and belongs to a closed billing period (the month of its work or transaction date,
--   ended by the as-of date).
-- Only time-and-materials contracts bill hours x rate. Fixed-fee, retainer and milestone
-- contracts bill a fee schedule (contract_unbilled_by_method), which the write-back does not
-- bill yet; their rebillable expenses are candidates all the same. Work held past a
-- not-to-exceed cap (wip_excluded_time_entries, over_cap) is no candidate.

with

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

contracts as (

    select * from {{ ref('dim_contracts') }}

),

held_over_cap as (

    select correlation_id from {{ ref('wip_excluded_time_entries') }}
    where exclusion_reason = 'over_cap'

),

clients as (

    select
        client_id,
        client_name
    from {{ ref('dim_clients') }}

),

projects as (

    select
        project_id,
        project_name
    from {{ ref('dim_projects') }}

),

labour as (

    select
        {{ dbt.date_trunc('month', 'time_entries.work_date') }} as period_start,
        time_entries.contract_id,
        time_entries.client_id,
        time_entries.legal_entity,
        time_entries.currency,
        'labour' as line_kind,
        time_entries.worker_role as line_category,
        time_entries.worker_role
        || ' - ' || coalesce(projects.project_name, time_entries.project_code)
        || ' - ' || coalesce(time_entries.task_name, 'time') as line_description,
        time_entries.resolved_bill_rate as unit_price,
        time_entries.tax_code,
        time_entries.tax_rate_percent,
        time_entries.correlation_id,
        time_entries.hours as quantity,
        cast(null as decimal(18, 2)) as amount
    from time_entries
    inner join contracts
        on time_entries.contract_id = contracts.contract_id
    left join projects
        on time_entries.project_id = projects.project_id
    where
        time_entries.is_unbilled_wip
        and not time_entries.has_contract_exception
        and not time_entries.is_batched
        -- nothing to invoice: no hours (a zero-hour entry) or no price (a rate of 0, pro bono);
        -- negative hours are negative_hours exceptions, excluded above
        and time_entries.hours > 0
        and time_entries.resolved_bill_rate > 0
        and contracts.billing_method = 'time_and_materials'
        and time_entries.correlation_id not in (
            select held_over_cap.correlation_id from held_over_cap
        )

),

rebilled_expenses as (

    select
        {{ dbt.date_trunc('month', 'expenses.transaction_date') }} as period_start,
        expenses.contract_id,
        expenses.client_id,
        expenses.legal_entity,
        expenses.contract_currency as currency,
        'expense' as line_kind,
        expenses.expense_type_name as line_category,
        'Expenses - ' || expenses.expense_type_name || ' - '
        || coalesce(projects.project_name, expenses.project_code, 'general') as line_description,
        cast(null as decimal(18, 4)) as unit_price,
        expenses.tax_code,
        expenses.tax_rate_percent,
        expenses.correlation_id,
        cast(null as decimal(12, 4)) as quantity,
        expenses.rebill_amount as amount
    from expenses
    inner join contracts
        on expenses.contract_id = contracts.contract_id
    left join projects
        on expenses.project_id = projects.project_id
    where
        expenses.rebill_amount is not null
        and expenses.is_valid
        and not contracts.has_exception
        and not expenses.is_batched
        and not expenses.is_invoiced

),

unioned as (

    select * from labour
    union all
    select * from rebilled_expenses

),

final as (

    select
        {{ dbt.concat([
            "cast(extract(year from unioned.period_start) as " ~ type_text() ~ ")", "'-'",
            "lpad(cast(extract(month from unioned.period_start) as " ~ type_text() ~ "), 2, '0')"
        ]) }}
            as period,
        contracts.account_source_id as client_ref,
        coalesce(clients.client_name, contracts.account_source_id) as client_name,
        contracts.source_id as contract_ref,
        -- the invoicing entity: the contract's
        coalesce(contracts.legal_entity, unioned.legal_entity) as legal_entity,
        unioned.currency,
        -- periodic billing: the invoice is dated at the period end
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'unioned.period_start')) }} as date
        ) as invoice_date,
        contracts.payment_terms,
        unioned.line_kind,
        unioned.line_category,
        unioned.line_description,
        cast(unioned.unit_price as decimal(18, 4)) as unit_price,
        unioned.tax_code,
        cast(unioned.tax_rate_percent / 100 as decimal(8, 6)) as tax_rate,
        unioned.correlation_id,
        cast(unioned.quantity as decimal(12, 4)) as quantity,
        cast(unioned.amount as decimal(18, 2)) as amount,
        {{ as_of_date() }} as as_of_date
    from unioned
    inner join contracts
        on unioned.contract_id = contracts.contract_id
    left join clients
        on contracts.client_id = clients.client_id
    -- closed periods only: a month is billed once it has ended
    where
        cast({{ dbt.dateadd('month', 1, 'unioned.period_start') }} as date)
        <= {{ dbt.dateadd('day', 1, as_of_date()) }}

)

select * from final
