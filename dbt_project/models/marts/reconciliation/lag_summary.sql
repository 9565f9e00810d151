-- The lags of docs/design.md §4 summarised per lag kind as of the as-of date: how many were
-- measured (finished) and how many are still open, median and p90 (continuous quantiles) of the
-- finished lags in calendar and business days, the SLA and how many finished lags breached
-- it, and how many open records are already past it. One row per lag kind, also when none
-- has started yet.

with

as_of as (

    select {{ as_of_date() }} as as_of_date

),

record_lags as (

    select * from {{ ref('record_lags') }}

),

lag_kinds as (

    {{ sla_thresholds() }}

),

measures as (

    select
        lag_kind,
        {{ lag_measures() }}
    from record_lags
    group by lag_kind

),

final as (

    select
        lag_kinds.lag_kind,
        as_of.as_of_date,
        cast(lag_kinds.sla_business_days as integer) as sla_business_days,
        coalesce(measures.measured_count, 0) as measured_count,
        coalesce(measures.open_count, 0) as open_count,
        measures.median_days,
        measures.p90_days,
        measures.median_business_days,
        measures.p90_business_days,
        coalesce(measures.sla_breach_count, 0) as sla_breach_count,
        coalesce(measures.open_past_sla_count, 0) as open_past_sla_count
    from lag_kinds
    cross join as_of
    left join measures
        on lag_kinds.lag_kind = measures.lag_kind

)

select * from final
