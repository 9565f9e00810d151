-- What each contract has earned but not invoiced as of the as-of date, by billing method
-- (docs/design.md §4), one row per contract, in the contract currency:
--   hours basis (T&M, or a method whose schedule the CRM does not export):
--       unbilled = its WIP at rate (unbilled_approved_hours)
--   fixed_fee:  due = instalments due by the as-of date
--   retainer:   due = the fee of every period started by the as-of date, plus its approved
--               overage: (approved billable hours worked in the period - included hours,
--               if positive) x overage rate
--   milestone:  due = milestones accepted by the as-of date
--   schedule basis: unbilled = due - labour invoiced (ERP labour lines released by the
--               as-of date); negative = invoiced ahead of the schedule
-- Work held past a not-to-exceed cap is reported apart (over_cap), never as unbilled.

with

terms as (

    select * from {{ ref('int_contract_billing_terms') }}

),

schedule_lines as (

    select * from {{ ref('stg_salesforce__billing_schedule_lines') }}
    where not is_deleted

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}
    where
        is_billable_stage
        and approved_at < {{ as_of_end() }}
        and (created_at is null or created_at < {{ as_of_end() }})

),

retainer_periods as (

    select
        schedule_lines.contract_source_id,
        schedule_lines.schedule_line_source_id,
        schedule_lines.amount as period_fee,
        greatest(
            coalesce(sum(time_entries.hours), 0) - coalesce(schedule_lines.included_hours, 0),
            0
        ) as overage_hours,
        max(schedule_lines.overage_rate) as overage_rate
    from schedule_lines
    inner join terms
        on schedule_lines.contract_source_id = terms.contract_source_id
    left join time_entries
        on
            schedule_lines.contract_source_id = time_entries.contract_source_id
            and time_entries.work_date between schedule_lines.period_start
            and schedule_lines.period_end
    where
        terms.billing_method = 'retainer'
        and schedule_lines.line_type = 'retainer_period'
        and schedule_lines.period_start <= {{ as_of_date() }}
    group by
        schedule_lines.contract_source_id,
        schedule_lines.schedule_line_source_id,
        schedule_lines.amount,
        schedule_lines.included_hours

),

retainer_due as (

    select
        contract_source_id,
        sum(period_fee) as fee_due,
        sum(overage_hours) as overage_hours,
        sum(overage_hours * coalesce(overage_rate, 0)) as overage_amount
    from retainer_periods
    group by contract_source_id

),

fixed_fee_and_milestone_due as (

    select
        schedule_lines.contract_source_id,
        sum(schedule_lines.amount) as fee_due
    from schedule_lines
    inner join terms
        on schedule_lines.contract_source_id = terms.contract_source_id
    where
        (
            terms.billing_method = 'fixed_fee'
            and schedule_lines.line_type = 'instalment'
            and schedule_lines.due_date <= {{ as_of_date() }}
        )
        or (
            terms.billing_method = 'milestone'
            and schedule_lines.line_type = 'milestone'
            and schedule_lines.acceptance_date <= {{ as_of_date() }}
        )
    group by schedule_lines.contract_source_id

),

invoiced as (

    select
        contract_id,
        sum(amount) as invoiced_amount
    from {{ ref('fct_invoice_lines') }}
    where line_kind = 'labour' and is_released
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
                    coalesce(fixed_fee_and_milestone_due.fee_due, 0)
                    + coalesce(retainer_due.fee_due, 0)
                    + coalesce(retainer_due.overage_amount, 0)
        end as amount_due,
        retainer_due.overage_hours as retainer_overage_hours,
        retainer_due.overage_amount as retainer_overage_amount,
        coalesce(invoiced.invoiced_amount, 0) as invoiced_labour_amount,
        coalesce(wip_at_rate.wip_hours, 0) as wip_hours,
        coalesce(wip_at_rate.wip_value, 0) as wip_value,
        coalesce(held_over_cap.over_cap_hours, 0) as over_cap_hours,
        coalesce(held_over_cap.over_cap_value, 0) as over_cap_value
    from terms
    left join retainer_due
        on terms.contract_source_id = retainer_due.contract_source_id
    left join fixed_fee_and_milestone_due
        on terms.contract_source_id = fixed_fee_and_milestone_due.contract_source_id
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
        cast(invoiced_labour_amount as decimal(18, 2)) as invoiced_labour_amount,
        cast(wip_hours as decimal(18, 4)) as wip_hours,
        cast(wip_value as decimal(18, 2)) as wip_value,
        cast(
            case
                when billing_basis = 'schedule' then amount_due - invoiced_labour_amount
                else wip_value
            end as decimal(18, 2)
        ) as unbilled_amount,
        cast(over_cap_hours as decimal(18, 4)) as over_cap_hours,
        cast(over_cap_value as decimal(18, 2)) as over_cap_value
    from joined

)

select * from final
