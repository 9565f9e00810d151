-- The working calendar: one row per calendar day and holiday region (NA, EU, APAC), so
-- capacity (working days minus the region's holidays, docs/design.md §4) is a filter away.

with

days as (

    select calendar_date from {{ ref('int_dates_spined') }}

),

regions as (

    select region from {{ ref('stg_config__legal_entities') }}
    union
    select region from {{ ref('stg_hris__holidays') }}

),

holidays as (

    select
        region,
        holiday_date,
        min(holiday_name) as holiday_name
    from {{ ref('stg_hris__holidays') }}
    group by region, holiday_date

),

final as (

    select
        {{ hash_key(['days.calendar_date', 'regions.region']) }} as calendar_id,
        days.calendar_date,
        regions.region,
        cast({{ dbt.date_trunc('month', 'days.calendar_date') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('week', 'days.calendar_date') }} as date) as week_start_date,
        cast(extract(year from days.calendar_date) as integer) as calendar_year,
        cast(extract(quarter from days.calendar_date) as integer) as calendar_quarter,
        cast(extract(month from days.calendar_date) as integer) as calendar_month,
        -- ISO day of week: 1 = Monday ... 7 = Sunday
        {{ iso_day_of_week('days.calendar_date') }} as iso_day_of_week,
        {{ iso_day_of_week('days.calendar_date') }} >= 6 as is_weekend,
        holidays.holiday_date is not null as is_holiday,
        holidays.holiday_name,
        {{ iso_day_of_week('days.calendar_date') }} < 6 and holidays.holiday_date is null
            as is_working_day
    from days
    cross join regions
    left join holidays
        on
            regions.region = holidays.region
            and days.calendar_date = holidays.holiday_date

)

select * from final
