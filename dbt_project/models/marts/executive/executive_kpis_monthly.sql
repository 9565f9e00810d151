-- The firm's headline KPIs per month (docs/design.md §4), rolled up from the executive marts
-- so a dashboard reads one row per month: utilization and total utilization (Σ hours ÷
-- Σ capacity hours), timesheet compliance (Σ on-time days ÷ Σ due days), realization,
-- recognized revenue and margin on it in the reporting currency (Σ over projects, by work
-- month), and from contract_revenue_monthly the month's billing (release month) and the
-- month-end contract assets and liabilities (each contract's at the month's last FX rate,
-- the as-of date's in the as-of month). Ratios of sums, never averages of
-- ratios, so a small part-timer weighs what their capacity weighs.

with

utilization as (

    select * from {{ ref('utilization_monthly') }}

),

compliance as (

    select * from {{ ref('timesheet_compliance_monthly') }}

),

project_financials as (

    select * from {{ ref('project_financials_monthly') }}

),

contract_revenue as (

    select * from {{ ref('contract_revenue_monthly') }}

),

utilization_totals as (

    select
        month_start_date,
        count(case when capacity_days > 0 then 1 end) as resources_with_capacity,
        sum(capacity_hours) as capacity_hours,
        sum(billable_hours) as billable_hours,
        sum(logged_hours) as logged_hours
    from utilization
    group by month_start_date

),

compliance_totals as (

    select
        month_start_date,
        sum(due_days) as due_days,
        sum(on_time_days) as on_time_days
    from compliance
    group by month_start_date

),

financial_totals as (

    select
        month_start_date,
        max(reporting_currency) as reporting_currency,
        sum(billable_value_reporting) as billable_value_reporting,
        sum(invoiced_hours) as invoiced_hours,
        sum(invoiced_value_reporting) as invoiced_value_reporting,
        sum(invoiced_value_at_resolved_rate_reporting)
            as invoiced_value_at_resolved_rate_reporting,
        sum(recognized_revenue_reporting) as recognized_revenue_reporting,
        sum(total_cost_reporting) as total_cost_reporting,
        sum(margin_reporting) as margin_reporting
    from project_financials
    group by month_start_date

),

position_totals as (

    select
        month_start_date,
        sum(billed_amount_reporting) as billed_reporting,
        sum(contract_asset_reporting) as contract_asset_reporting,
        sum(contract_liability_reporting) as contract_liability_reporting
    from contract_revenue
    group by month_start_date

),

months as (

    select month_start_date from utilization_totals
    union
    select month_start_date from financial_totals
    union
    select month_start_date from position_totals

),

final as (

    select
        months.month_start_date,
        cast(coalesce(utilization_totals.resources_with_capacity, 0) as integer)
            as resources_with_capacity,
        cast(coalesce(utilization_totals.capacity_hours, 0) as decimal(18, 4))
            as capacity_hours,
        cast(coalesce(utilization_totals.billable_hours, 0) as decimal(18, 4))
            as billable_hours,
        cast(coalesce(utilization_totals.logged_hours, 0) as decimal(18, 4)) as logged_hours,
        cast(utilization_totals.billable_hours as {{ type_double() }})
        / nullif(cast(utilization_totals.capacity_hours as {{ type_double() }}), 0)
            as utilization,
        cast(utilization_totals.logged_hours as {{ type_double() }})
        / nullif(cast(utilization_totals.capacity_hours as {{ type_double() }}), 0)
            as total_utilization,
        cast(coalesce(compliance_totals.due_days, 0) as integer) as due_days,
        cast(coalesce(compliance_totals.on_time_days, 0) as integer) as on_time_days,
        cast(compliance_totals.on_time_days as {{ type_double() }})
        / nullif(cast(compliance_totals.due_days as {{ type_double() }}), 0) as compliance_share,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(coalesce(financial_totals.billable_value_reporting, 0) as decimal(18, 2))
            as billable_value_reporting,
        cast(coalesce(financial_totals.invoiced_hours, 0) as decimal(18, 4))
            as invoiced_hours,
        cast(coalesce(financial_totals.invoiced_value_reporting, 0) as decimal(18, 2))
            as invoiced_value_reporting,
        cast(
            coalesce(financial_totals.invoiced_value_at_resolved_rate_reporting, 0)
            as decimal(18, 2)
        ) as invoiced_value_at_resolved_rate_reporting,
        cast(financial_totals.invoiced_value_reporting as {{ type_double() }})
        / nullif(
            cast(
                financial_totals.invoiced_value_at_resolved_rate_reporting
                as {{ type_double() }}
            ),
            0
        ) as realization,
        cast(coalesce(financial_totals.recognized_revenue_reporting, 0) as decimal(18, 2))
            as recognized_revenue_reporting,
        cast(coalesce(financial_totals.total_cost_reporting, 0) as decimal(18, 2))
            as total_cost_reporting,
        cast(coalesce(financial_totals.margin_reporting, 0) as decimal(18, 2))
            as margin_reporting,
        cast(financial_totals.margin_reporting as {{ type_double() }})
        / nullif(
            cast(financial_totals.recognized_revenue_reporting as {{ type_double() }}), 0
        ) as margin_share,
        cast(coalesce(position_totals.billed_reporting, 0) as decimal(18, 2))
            as billed_reporting,
        cast(coalesce(position_totals.contract_asset_reporting, 0) as decimal(18, 2))
            as contract_asset_reporting,
        cast(coalesce(position_totals.contract_liability_reporting, 0) as decimal(18, 2))
            as contract_liability_reporting,
        {{ as_of_date() }} as as_of_date
    from months
    left join utilization_totals
        on months.month_start_date = utilization_totals.month_start_date
    left join compliance_totals
        on months.month_start_date = compliance_totals.month_start_date
    left join financial_totals
        on months.month_start_date = financial_totals.month_start_date
    left join position_totals
        on months.month_start_date = position_totals.month_start_date

)

select * from final
