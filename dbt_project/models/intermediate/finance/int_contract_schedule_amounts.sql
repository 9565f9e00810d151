-- The amounts the schedule of a schedule-basis contract makes due (docs/design.md §4), one row
-- per amount, as of the as-of date; each has its own correlation id, so the write-back bills
-- it exactly once (docs/design.md §3):
--   fixed_fee_instalment  an instalment: due on its due date
--   retainer_fee          a retainer period's fee: due when the period starts
--   retainer_overage      a retainer period's approved billable hours beyond its included
--                         hours x overage rate: accrues from the period start, billable once
--                         the period has ended
--   milestone             a milestone: due once accepted (no acceptance date: never due)
-- due_date is when the amount counts as due (contract_unbilled_by_method), billable_date
-- the date whose month bills it (billing_batch_candidates).

with

terms as (

    select * from {{ ref('int_contract_billing_terms') }}
    where billing_basis = 'schedule'

),

schedule_lines as (

    select schedule_lines.*
    from {{ ref('stg_salesforce__billing_schedule_lines') }} as schedule_lines
    inner join terms
        on
            schedule_lines.contract_source_id = terms.contract_source_id
            -- only lines of the contract's method (a stray milestone on a fixed fee is not)
            and schedule_lines.line_type = terms.schedule_line_type
    where not schedule_lines.is_deleted

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}
    where
        is_billable_stage
        and approved_at < {{ as_of_end() }}
        and (created_at is null or created_at < {{ as_of_end() }})

),

retainer_hours as (

    select
        schedule_lines.schedule_line_source_id,
        coalesce(sum(time_entries.hours), 0) as worked_hours
    from schedule_lines
    left join time_entries
        on
            schedule_lines.contract_source_id = time_entries.contract_source_id
            and time_entries.work_date between schedule_lines.period_start
            and schedule_lines.period_end
    where schedule_lines.line_type = 'retainer_period'
    group by schedule_lines.schedule_line_source_id

),

fees as (

    select
        schedule_line_source_id,
        contract_source_id,
        {{ schedule_fee_line_kind('line_type') }} as line_kind,
        schedule_line_name,
        description,
        case line_type
            when 'instalment' then due_date
            when 'retainer_period' then period_start
            when 'milestone' then acceptance_date
        end as due_date,
        cast(null as decimal(18, 4)) as quantity,
        cast(null as decimal(18, 4)) as unit_price,
        amount
    from schedule_lines

),

overages as (

    select
        schedule_lines.schedule_line_source_id,
        schedule_lines.contract_source_id,
        'retainer_overage' as line_kind,
        schedule_lines.schedule_line_name,
        schedule_lines.description,
        schedule_lines.period_start as due_date,
        greatest(
            retainer_hours.worked_hours - coalesce(schedule_lines.included_hours, 0), 0
        ) as quantity,
        coalesce(schedule_lines.overage_rate, 0) as unit_price,
        cast(null as decimal(18, 2)) as amount
    from schedule_lines
    inner join retainer_hours
        on schedule_lines.schedule_line_source_id = retainer_hours.schedule_line_source_id

),

unioned as (

    select
        *,
        due_date as billable_date
    from fees
    union all
    select
        overages.*,
        schedule_lines.period_end as billable_date
    from overages
    inner join schedule_lines
        on overages.schedule_line_source_id = schedule_lines.schedule_line_source_id

),

correlated as (

    select
        {{ correlation_id("'salesforce'", 'line_kind', 'schedule_line_source_id') }}
            as correlation_id,
        *
    from unioned

),

-- frozen into a billing batch, or on an ERP invoice line (released or not): never billed again
batched as (

    select correlation_id from {{ ref('stg_ops__erp_outbox_correlations') }}
    union
    select correlation_id from {{ ref('int_invoice_line_records') }}

),

final as (

    select
        correlated.correlation_id,
        correlated.schedule_line_source_id,
        correlated.contract_source_id,
        correlated.line_kind,
        correlated.schedule_line_name,
        correlated.description,
        correlated.due_date,
        correlated.billable_date,
        cast(correlated.quantity as decimal(12, 4)) as quantity,
        cast(correlated.unit_price as decimal(18, 4)) as unit_price,
        cast(
            coalesce(correlated.amount, correlated.quantity * correlated.unit_price)
            as decimal(18, 2)
        ) as amount,
        batched.correlation_id is not null as is_batched,
        coalesce(correlated.due_date <= {{ as_of_date() }}, false) as is_due
    from correlated
    left join batched
        on correlated.correlation_id = batched.correlation_id

)

select * from final
