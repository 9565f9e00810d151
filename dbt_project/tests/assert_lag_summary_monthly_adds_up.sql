-- Fails for every lag kind whose monthly rows (lag_summary_monthly) do not add up to its
-- lag_summary row: measured, open, SLA breaches and open past the SLA.

-- an asset check of lag_summary_monthly in Dagster (the test reads two models)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'lag_summary_monthly'}},
}) }}

with

monthly as (

    select
        lag_kind,
        sum(measured_count) as measured_count,
        sum(open_count) as open_count,
        sum(sla_breach_count) as sla_breach_count,
        sum(open_past_sla_count) as open_past_sla_count
    from {{ ref('lag_summary_monthly') }}
    group by lag_kind

),

summary as (

    select * from {{ ref('lag_summary') }}

)

select
    summary.lag_kind,
    summary.measured_count,
    monthly.measured_count as monthly_measured_count,
    summary.open_count,
    monthly.open_count as monthly_open_count,
    summary.sla_breach_count,
    monthly.sla_breach_count as monthly_sla_breach_count,
    summary.open_past_sla_count,
    monthly.open_past_sla_count as monthly_open_past_sla_count
from summary
left join monthly
    on summary.lag_kind = monthly.lag_kind
where
    coalesce(monthly.measured_count, 0) != summary.measured_count
    or coalesce(monthly.open_count, 0) != summary.open_count
    or coalesce(monthly.sla_breach_count, 0) != summary.sla_breach_count
    or coalesce(monthly.open_past_sla_count, 0) != summary.open_past_sla_count
