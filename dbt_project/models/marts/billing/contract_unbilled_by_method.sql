-- What each contract has earned but not invoiced as of the as-of date, by billing method
-- (docs/design.md §4), one row per contract, in the contract currency:
--   hours basis (T&M, or a method whose schedule the CRM does not export):
--       unbilled = its WIP at rate (unbilled_approved_hours)
--   fixed_fee:  due = instalments due by the as-of date
--   retainer:   due = the fee of every period started by the as-of date, plus its approved
--               overage: (approved billable hours worked in the period - included hours,
--               if positive) x overage rate
--   milestone:  due = milestones accepted by the as-of date
--   schedule basis: unbilled = due - invoiced (ERP labour and schedule lines released by
--               the as-of date); negative = invoiced ahead of the schedule
-- The due amounts are int_contract_schedule_amounts' (one correlation id each).
-- Work held past a not-to-exceed cap is reported apart (over_cap), never as unbilled.

with

terms as (

    select * from {{ ref('int_contract_billing_terms') }}

),

schedule_due as (

    select
        contract_source_id,
        sum(case when line_kind != 'retainer_overage' then amount else 0 end) as fee_due,
        sum(case when line_kind = 'retainer_overage' then quantity end) as overage_hours,
        sum(case when line_kind = 'retainer_overage' then amount end) as overage_amount
    from {{ ref('int_contract_schedule_amounts') }}
    where is_due
    group by contract_source_id

),

-- labour lines (the ERP's own invoices of a schedule) and schedule amounts the write-back
-- billed; expenses are billed apart on every method
invoiced as (

    select
        contract_id,
        sum(amount) as invoiced_amount
    from {{ ref('fct_invoice_lines') }}
    where
        line_kind in (
            'labour', 'fixed_fee_instalment', 'retainer_fee', 'retainer_overage', 'milestone'
        )
        and is_released
    group by contract_id

),

wip_at_rate as (

    select
        contract_source_id,
        sum(unbilled_approved_hours) as wip_hours,
        sum(unbilled_value) as wip_value
    from {{ ref('unbilled_approved_hours') }}
    group by contract_source_id

),

held_over_cap as (

    select
        contract_source_id,
        sum(hours) as over_cap_hours,
        sum(billable_amount) as over_cap_value
    from {{ ref('wip_excluded_time_entries') }}
    where exclusion_reason = 'over_cap'
    group by contract_source_id

),

joined as (

    select
        {{ surrogate_key("'salesforce'", 'terms.contract_source_id') }} as contract_id,
        terms.contract_source_id,
        terms.billing_method,
        terms.billing_basis,
        terms.currency,
        terms.not_to_exceed_hours,
        terms.not_to_exceed_amount,
        case
            when terms.billing_basis = 'schedule'
                then
                    coalesce(schedule_due.fee_due, 0)
                    + coalesce(schedule_due.overage_amount, 0)
        end as amount_due,
        case
            when terms.billing_method = 'retainer' then schedule_due.overage_hours
        end as retainer_overage_hours,
        case
            when terms.billing_method = 'retainer' then schedule_due.overage_amount
        end as retainer_overage_amount,
        coalesce(invoiced.invoiced_amount, 0) as invoiced_amount,
        coalesce(wip_at_rate.wip_hours, 0) as wip_hours,
        coalesce(wip_at_rate.wip_value, 0) as wip_value,
        coalesce(held_over_cap.over_cap_hours, 0) as over_cap_hours,
        coalesce(held_over_cap.over_cap_value, 0) as over_cap_value
    from terms
    left join schedule_due
        on terms.contract_source_id = schedule_due.contract_source_id
    left join wip_at_rate
        on terms.contract_source_id = wip_at_rate.contract_source_id
    left join held_over_cap
        on terms.contract_source_id = held_over_cap.contract_source_id
    left join invoiced
        on {{ surrogate_key("'salesforce'", 'terms.contract_source_id') }} = invoiced.contract_id

),

final as (

    select
        contract_id,
        contract_source_id,
        billing_method,
        billing_basis,
        currency,
        {{ as_of_date() }} as as_of_date,
        cast(not_to_exceed_hours as decimal(12, 2)) as not_to_exceed_hours,
        cast(not_to_exceed_amount as decimal(18, 2)) as not_to_exceed_amount,
        cast(amount_due as decimal(18, 2)) as amount_due,
        cast(retainer_overage_hours as decimal(18, 4)) as retainer_overage_hours,
        cast(retainer_overage_amount as decimal(18, 2)) as retainer_overage_amount,
        cast(invoiced_amount as decimal(18, 2)) as invoiced_amount,
        cast(wip_hours as decimal(18, 4)) as wip_hours,
        cast(wip_value as decimal(18, 2)) as wip_value,
        cast(
            case
                when billing_basis = 'schedule' then amount_due - invoiced_amount
                else wip_value
            end as decimal(18, 2)
        ) as unbilled_amount,
        cast(over_cap_hours as decimal(18, 4)) as over_cap_hours,
        cast(over_cap_value as decimal(18, 2)) as over_cap_value
    from joined

)

select * from final
