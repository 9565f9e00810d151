-- MetricFlow's time spine: one row per calendar day the firm's data touches (the date
-- spine of the intermediate layer), so metrics aggregate over days, months and years.

with

days as (

    select calendar_date from {{ ref('int_dates_spined') }}

),

final as (

    select cast(calendar_date as date) as date_day
    from days

)

select * from final
