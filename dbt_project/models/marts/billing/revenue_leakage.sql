-- Revenue leakage (docs/design.md §4) as of the as-of date: one row per leaking record and cause.
--   billed_below_rate      an invoiced time entry whose invoice line's effective rate
--                          (line amount / line hours) is below its resolved bill rate:
--                          (resolved - effective rate) x hours
--   unbilled_over_90_days  approved, billable, valid work or a rebillable approved expense
--                          not batched nor invoiced more than `leakage_unbilled_days` days
--                          after approval: its full value (not the hours of a contract
--                          billed by its schedule, nor work held past a cap:
--                          wip_excluded_time_entries)
--   expired_contract_work  billable work logged after its contract ended
--                          (exception expired_contract): hours x resolved rate
-- Amounts are in the contract currency and the reporting currency. A record can leak for
-- more than one cause (expired-contract work that also sits unbilled), so sum per cause.

with

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

wip_excluded as (

    select correlation_id from {{ ref('wip_excluded_time_entries') }}

),

invoice_lines as (

    select
        invoice_line_id,
        quantity,
        amount
    from {{ ref('fct_invoice_lines') }}
    where line_kind = 'labour' and quantity > 0

),

expired_contract_entries as (

    select distinct
        source_system,
        source_id
    from {{ ref('billing_exceptions') }}
    where source_entity = 'time_entries' and reason = 'expired_contract'

),

below_rate as (

    select
        'billed_below_rate' as cause,
        time_entries.correlation_id,
        time_entries.source_system,
        'time_entry' as record_kind,
        time_entries.source_id,
        time_entries.project_id,
        time_entries.contract_id,
        time_entries.client_id,
        time_entries.legal_entity,
        time_entries.work_date as record_date,
        time_entries.hours,
        time_entries.currency,
        cast(
            (time_entries.resolved_bill_rate - invoice_lines.amount / invoice_lines.quantity)
            * time_entries.hours as decimal(18, 2)
        ) as leakage_amount,
        -- in the reporting currency at the work date's rate, as the entry's value
        cast(
            (time_entries.resolved_bill_rate - invoice_lines.amount / invoice_lines.quantity)
            * time_entries.hours
            * time_entries.billable_amount_reporting / nullif(time_entries.billable_amount, 0)
            as decimal(18, 2)
        ) as leakage_amount_reporting,
        time_entries.invoice_line_id
    from time_entries
    inner join invoice_lines
        on time_entries.invoice_line_id = invoice_lines.invoice_line_id
    where
        time_entries.is_invoiced
        and time_entries.resolved_bill_rate is not null
        and invoice_lines.amount / invoice_lines.quantity < time_entries.resolved_bill_rate

),

unbilled_time as (

    select
        'unbilled_over_90_days' as cause,
        correlation_id,
        source_system,
        'time_entry' as record_kind,
        source_id,
        project_id,
        contract_id,
        client_id,
        legal_entity,
        work_date as record_date,
        hours,
        currency,
        billable_amount as leakage_amount,
        billable_amount_reporting as leakage_amount_reporting,
        cast(null as {{ type_text() }}) as invoice_line_id
    from time_entries
    where
        is_unbilled_wip
        and not is_batched
        and {{ dbt.datediff('cast(approved_at as date)', as_of_date(), 'day') }}
        > {{ firm_threshold('leakage_unbilled_days') }}
        and correlation_id not in (select wip_excluded.correlation_id from wip_excluded)

),

unbilled_expenses as (

    select
        'unbilled_over_90_days' as cause,
        correlation_id,
        source_system,
        'expense' as record_kind,
        source_id,
        project_id,
        contract_id,
        client_id,
        legal_entity,
        transaction_date as record_date,
        cast(null as decimal(12, 4)) as hours,
        contract_currency as currency,
        rebill_amount as leakage_amount,
        -- the same money as posted, in the reporting currency
        posted_amount_reporting as leakage_amount_reporting,
        cast(null as {{ type_text() }}) as invoice_line_id
    from expenses
    where
        rebill_amount is not null and is_valid
        and not is_batched and not is_invoiced
        and {{ dbt.datediff('cast(approved_at as date)', as_of_date(), 'day') }}
        > {{ firm_threshold('leakage_unbilled_days') }}

),

expired_contract as (

    select
        'expired_contract_work' as cause,
        time_entries.correlation_id,
        time_entries.source_system,
        'time_entry' as record_kind,
        time_entries.source_id,
        time_entries.project_id,
        time_entries.contract_id,
        time_entries.client_id,
        time_entries.legal_entity,
        time_entries.work_date as record_date,
        time_entries.hours,
        time_entries.currency,
        time_entries.billable_amount as leakage_amount,
        time_entries.billable_amount_reporting as leakage_amount_reporting,
        cast(null as {{ type_text() }}) as invoice_line_id
    from time_entries
    inner join expired_contract_entries
        on
            time_entries.source_system = expired_contract_entries.source_system
            and time_entries.source_id = expired_contract_entries.source_id

),

unioned as (

    select * from below_rate
    union all
    select * from unbilled_time
    union all
    select * from unbilled_expenses
    union all
    select * from expired_contract

),

final as (

    select
        {{ hash_key(['cause', 'correlation_id']) }} as leakage_id,
        cause,
        correlation_id,
        source_system,
        record_kind,
        source_id,
        project_id,
        contract_id,
        client_id,
        legal_entity,
        record_date,
        cast(hours as decimal(12, 4)) as hours,
        currency,
        cast(leakage_amount as decimal(18, 2)) as leakage_amount,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(leakage_amount_reporting as decimal(18, 2)) as leakage_amount_reporting,
        invoice_line_id,
        {{ as_of_date() }} as as_of_date
    from unioned

)

select * from final
