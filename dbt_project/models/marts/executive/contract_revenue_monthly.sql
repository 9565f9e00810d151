-- Revenue recognized against revenue billed per contract and month, up to the as-of month
-- (docs/design.md §4), in the contract currency. Recognized to date, by the contract's method:
--   as_delivered              time and materials, and any contract whose fee is unknown:
--                             approved billable work (the funnel's billable stage, not held
--                             past a cap) x resolved bill rate, in its work month
--   percentage_of_completion  fixed fee and milestone with a fee (fixed_fee_amount, else the
--                             sum of its instalment or milestone schedule lines): fee x
--                             completion, completion = approved billable hours to date ÷ the
--                             contract's hour budget (not_to_exceed_hours) or, without one,
--                             delivered value at rate to date ÷ the fee (the fee as the
--                             estimate at completion: the CRM exports no other estimate);
--                             at most 1 (the fee), rounded to the cent
--   straight_line             retainer with a monthly fee: the fee in each month of its term
--                             (term_months from the start month, else to the end month)
-- Billed = labour invoice lines released by the as-of date, in their release month.
-- Position = recognized to date - billed to date: a contract asset (unbilled receivable)
-- when positive, a contract liability (deferred revenue) when negative; each month rolls
-- forward: opening position + recognized - billed = closing position.
-- In the reporting currency (*_reporting): the month's recognized revenue, billing and
-- month-end asset and liability, each at the month's last FX rate (the as-of date's in the
-- as-of month); no roll-forward holds across months there (the rate moves).

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end,
        cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as as_of_month

),

contracts as (

    select * from {{ ref('stg_salesforce__contracts') }}
    where not is_deleted

),

schedule_fees as (

    -- the fee of a fixed-fee or milestone contract its CRM spells out line by line
    select
        schedule_lines.contract_source_id,
        sum(schedule_lines.amount) as schedule_fee
    from {{ ref('stg_salesforce__billing_schedule_lines') }} as schedule_lines
    inner join contracts
        on schedule_lines.contract_source_id = contracts.contract_source_id
    where
        not schedule_lines.is_deleted
        and (
            (contracts.billing_method = 'fixed_fee' and schedule_lines.line_type = 'instalment')
            or (contracts.billing_method = 'milestone' and schedule_lines.line_type = 'milestone')
        )
    group by schedule_lines.contract_source_id

),

terms as (

    select
        contracts.contract_source_id,
        {{ surrogate_key("'salesforce'", 'contracts.contract_source_id') }} as contract_id,
        contracts.billing_method,
        contracts.currency,
        contracts.not_to_exceed_hours,
        contracts.retainer_monthly_fee,
        coalesce(contracts.fixed_fee_amount, schedule_fees.schedule_fee) as contract_fee,
        cast({{ dbt.date_trunc('month', 'contracts.start_date') }} as date) as term_start_month,
        case
            when contracts.term_months is not null
                then cast(
                    {{ dbt.dateadd('month', 'contracts.term_months - 1',
                        dbt.date_trunc('month', 'contracts.start_date')) }} as date
                )
            else cast({{ dbt.date_trunc('month', 'contracts.end_date') }} as date)
        end as term_end_month,
        case
            when
                contracts.billing_method in ('fixed_fee', 'milestone')
                and coalesce(contracts.fixed_fee_amount, schedule_fees.schedule_fee) > 0
                then 'percentage_of_completion'
            when
                contracts.billing_method = 'retainer'
                and contracts.retainer_monthly_fee is not null
                and contracts.start_date is not null
                then 'straight_line'
            else 'as_delivered'
        end as recognition_method
    from contracts
    left join schedule_fees
        on contracts.contract_source_id = schedule_fees.contract_source_id

),

held_over_cap as (

    select correlation_id from {{ ref('wip_excluded_time_entries') }}
    where exclusion_reason = 'over_cap'

),

delivered as (

    select
        time_entries.contract_source_id,
        cast({{ dbt.date_trunc('month', 'time_entries.work_date') }} as date)
            as month_start_date,
        sum(time_entries.hours) as delivered_hours,
        sum(time_entries.billable_amount) as delivered_value
    from {{ ref('fct_time_entries') }} as time_entries
    cross join as_of
    where
        time_entries.is_billable_stage
        and time_entries.work_date <= as_of.as_of_date
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)
        and time_entries.correlation_id not in (
            select held_over_cap.correlation_id from held_over_cap
        )
    group by
        time_entries.contract_source_id,
        cast({{ dbt.date_trunc('month', 'time_entries.work_date') }} as date)

),

billed as (

    select
        invoice_lines.contract_id,
        cast({{ dbt.date_trunc('month', 'invoice_lines.released_date') }} as date)
            as month_start_date,
        sum(invoice_lines.amount) as billed_amount
    from {{ ref('fct_invoice_lines') }} as invoice_lines
    cross join as_of
    where
        invoice_lines.line_kind = 'labour'
        and invoice_lines.is_released
        and invoice_lines.released_date <= as_of.as_of_date
    group by
        invoice_lines.contract_id,
        cast({{ dbt.date_trunc('month', 'invoice_lines.released_date') }} as date)

),

first_months as (

    -- a contract's months start with its first work, its first bill or its retainer term
    select
        terms.contract_source_id,
        least(
            coalesce(min(delivered.month_start_date), max(as_of.as_of_month)),
            coalesce(min(billed.month_start_date), max(as_of.as_of_month)),
            case
                when max(terms.recognition_method) = 'straight_line'
                    then max(terms.term_start_month)
                else max(as_of.as_of_month)
            end
        ) as first_month,
        count(delivered.month_start_date) + count(billed.month_start_date) as activity_count
    from terms
    cross join as_of
    left join delivered
        on terms.contract_source_id = delivered.contract_source_id
    left join billed
        on terms.contract_id = billed.contract_id
    group by terms.contract_source_id

),

fx_rates as (

    select
        currency,
        rate_date,
        base_per_unit
    from {{ ref('int_fx_rates_daily') }}

),

months as (

    select distinct calendar.month_start_date
    from {{ ref('dim_calendar') }} as calendar
    cross join as_of
    where calendar.month_start_date <= as_of.as_of_month

),

contract_months as (

    select
        terms.*,
        months.month_start_date,
        coalesce(delivered.delivered_hours, 0) as delivered_hours,
        coalesce(delivered.delivered_value, 0) as delivered_value,
        coalesce(billed.billed_amount, 0) as billed_amount,
        case
            when
                terms.recognition_method = 'straight_line'
                and months.month_start_date between terms.term_start_month
                and terms.term_end_month
                then terms.retainer_monthly_fee
            else 0
        end as retainer_fee
    from terms
    inner join first_months
        on terms.contract_source_id = first_months.contract_source_id
    inner join months
        on first_months.first_month <= months.month_start_date
    left join delivered
        on
            terms.contract_source_id = delivered.contract_source_id
            and months.month_start_date = delivered.month_start_date
    left join billed
        on
            terms.contract_id = billed.contract_id
            and months.month_start_date = billed.month_start_date
    where first_months.activity_count > 0 or terms.recognition_method = 'straight_line'

),

to_date as (

    select
        *,
        sum(delivered_hours) over contract_to_month as delivered_hours_to_date,
        sum(delivered_value) over contract_to_month as delivered_value_to_date,
        sum(billed_amount) over contract_to_month as billed_to_date,
        sum(retainer_fee) over contract_to_month as retainer_fees_to_date
    from contract_months
    window contract_to_month as (
        partition by contract_source_id order by month_start_date
        rows between unbounded preceding and current row
    )

),

recognized as (

    select
        *,
        cast(
            case recognition_method
                when 'as_delivered' then delivered_value_to_date
                when 'straight_line' then retainer_fees_to_date
                -- fee x completion, multiplied before dividing; by value the fee cancels
                -- out: fee x (value ÷ fee) = value, exact
                when 'percentage_of_completion'
                    then least(
                        case
                            when not_to_exceed_hours > 0
                                then round(
                                    contract_fee * delivered_hours_to_date / not_to_exceed_hours,
                                    2
                                )
                            else delivered_value_to_date
                        end,
                        contract_fee
                    )
            end as decimal(18, 2)
        ) as recognized_to_date
    from to_date

),

positions as (

    select
        *,
        coalesce(
            lag(recognized_to_date) over (
                partition by contract_source_id order by month_start_date
            ),
            0
        ) as recognized_before,
        recognized_to_date - billed_to_date as closing_position,
        coalesce(
            lag(recognized_to_date - billed_to_date) over (
                partition by contract_source_id order by month_start_date
            ),
            0
        ) as opening_position
    from recognized

),

final as (

    select
        {{ hash_key(['contract_source_id', 'month_start_date']) }} as contract_revenue_id,
        contract_id,
        contract_source_id,
        month_start_date,
        billing_method,
        recognition_method,
        currency,
        cast(contract_fee as decimal(18, 2)) as contract_fee,
        cast(recognized_to_date - recognized_before as decimal(18, 2)) as recognized_revenue,
        recognized_to_date,
        cast(billed_amount as decimal(18, 2)) as billed_amount,
        cast(billed_to_date as decimal(18, 2)) as billed_to_date,
        cast(opening_position as decimal(18, 2)) as opening_position,
        cast(closing_position as decimal(18, 2)) as closing_position,
        cast(greatest(closing_position, 0) as decimal(18, 2)) as contract_asset,
        cast(greatest(-closing_position, 0) as decimal(18, 2)) as contract_liability,
        cast(delivered_hours_to_date as decimal(18, 4)) as delivered_hours_to_date,
        cast(delivered_value_to_date as decimal(18, 2)) as delivered_value_to_date,
        {{ as_of_date() }} as as_of_date
    from positions

),

in_reporting_currency as (

    select
        final.*,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ convert_money(
            'final.recognized_revenue',
            cross_rate('contract_fx.base_per_unit', 'reporting_fx.base_per_unit')
        ) }} as recognized_revenue_reporting,
        {{ convert_money(
            'final.billed_amount',
            cross_rate('contract_fx.base_per_unit', 'reporting_fx.base_per_unit')
        ) }} as billed_amount_reporting,
        {{ convert_money(
            'final.contract_asset',
            cross_rate('contract_fx.base_per_unit', 'reporting_fx.base_per_unit')
        ) }} as contract_asset_reporting,
        {{ convert_money(
            'final.contract_liability',
            cross_rate('contract_fx.base_per_unit', 'reporting_fx.base_per_unit')
        ) }} as contract_liability_reporting
    from final
    left join fx_rates as contract_fx
        on
            final.currency = contract_fx.currency
            and least(
                cast({{ dbt.last_day('final.month_start_date', 'month') }} as date),
                final.as_of_date
            ) = contract_fx.rate_date
    left join fx_rates as reporting_fx
        on
            reporting_fx.currency = '{{ var("reporting_currency") }}'
            and least(
                cast({{ dbt.last_day('final.month_start_date', 'month') }} as date),
                final.as_of_date
            ) = reporting_fx.rate_date

)

select * from in_reporting_currency
