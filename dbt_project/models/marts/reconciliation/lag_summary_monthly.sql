-- The lag summary of docs/design.md §4 per lag kind, month and legal entity: the measures of
-- lag_summary over the records that finished in the month. An open record has no finish
-- date yet; it is counted in the as-of date's month, where its clock stands.

with

record_lags as (

    select * from {{ ref('record_lags') }}

),

monthly as (

    select
        record_lags.*,
        cast(
            {{ dbt.date_trunc(
                'month', 'coalesce(record_lags.finish_date, record_lags.as_of_date)'
            ) }} as date
        ) as month_start_date
    from record_lags

),

measures as (

    select
        lag_kind,
        month_start_date,
        legal_entity,
        max(as_of_date) as as_of_date,
        max(sla_business_days) as sla_business_days,
        {{ lag_measures() }}
    from monthly
    group by lag_kind, month_start_date, legal_entity

),

final as (

    select
        {{ hash_key(['lag_kind', 'month_start_date', 'legal_entity']) }} as lag_month_id,
        lag_kind,
        month_start_date,
        legal_entity,
        as_of_date,
        sla_business_days,
        measured_count,
        open_count,
        median_days,
        p90_days,
        median_business_days,
        p90_business_days,
        sla_breach_count,
        open_past_sla_count
    from measures

)

select * from final
