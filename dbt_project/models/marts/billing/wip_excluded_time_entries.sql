-- Approved, billable, valid time entries not yet invoiced that are NOT work in progress at
-- rate (docs/design.md §4), one row per entry, as of the as-of date:
--   billed_by_schedule  the contract bills by its schedule (fixed fee, retainer, milestone:
--                       int_contract_billing_terms); what it has unbilled is in
--                       contract_unbilled_by_method, not its hours at rate
--   over_cap            the contract bills by hours and the entry takes its approved billable
--                       work past a not-to-exceed cap (hours or value): held, not billed
-- The cap counts every billable-stage entry, invoiced or not, in work order (work date,
-- approval, id); a whole entry is held once the running total passes the cap. WIP at rate,
-- leakage and billing candidates leave these entries out.

with

as_of as (

    select {{ as_of_end() }} as as_of_end

),

terms as (

    select * from {{ ref('int_contract_billing_terms') }}

),

billable_work as (

    select
        time_entries.correlation_id,
        time_entries.source_system,
        time_entries.source_id,
        time_entries.project_id,
        time_entries.contract_id,
        time_entries.contract_source_id,
        time_entries.work_date,
        time_entries.approved_at,
        time_entries.hours,
        time_entries.currency,
        time_entries.billable_amount,
        time_entries.is_unbilled_wip,
        terms.billing_basis,
        terms.not_to_exceed_hours,
        terms.not_to_exceed_amount
    from {{ ref('fct_time_entries') }} as time_entries
    cross join as_of
    inner join terms
        on time_entries.contract_source_id = terms.contract_source_id
    where
        time_entries.is_billable_stage
        and time_entries.approved_at < as_of.as_of_end
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)
        and (
            terms.billing_basis = 'schedule'
            or terms.not_to_exceed_hours is not null
            or terms.not_to_exceed_amount is not null
        )

),

running as (

    select
        *,
        sum(hours) over work_order as running_hours,
        sum(billable_amount) over work_order as running_amount
    from billable_work
    window work_order as (
        partition by contract_source_id
        order by work_date, approved_at, source_system, source_id
        rows between unbounded preceding and current row
    )

),

final as (

    select
        correlation_id,
        source_system,
        source_id,
        project_id,
        contract_id,
        contract_source_id,
        work_date,
        cast(hours as decimal(12, 4)) as hours,
        currency,
        cast(billable_amount as decimal(18, 2)) as billable_amount,
        case
            when billing_basis = 'schedule' then 'billed_by_schedule' else 'over_cap'
        end as exclusion_reason,
        {{ as_of_date() }} as as_of_date
    from running
    where
        is_unbilled_wip
        and (
            billing_basis = 'schedule'
            or running_hours > not_to_exceed_hours
            or running_amount > not_to_exceed_amount
        )

)

select * from final
