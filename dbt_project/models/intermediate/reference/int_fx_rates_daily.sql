-- One FX rate per currency and calendar day: the rate effective that day, else the latest
-- earlier one (a day without a published rate keeps the last rate). Rates are quoted as
-- base currency (USD) per unit; the base currency itself is 1 on every day.

with

published as (

    select
        currency,
        effective_date,
        base_per_unit,
        lead(effective_date) over (partition by currency order by effective_date)
            as next_effective_date
    from {{ ref('stg_erp__fx_rates') }}

),

days as (

    select calendar_date from {{ ref('int_dates_spined') }}

),

quoted as (

    select
        published.currency,
        days.calendar_date as rate_date,
        published.effective_date,
        published.base_per_unit
    from published
    inner join days
        on
            published.effective_date <= days.calendar_date
            and (
                published.next_effective_date is null
                or published.next_effective_date > days.calendar_date
            )

),

base_currency as (

    select
        '{{ var("fx_base_currency", "USD") }}' as currency,
        days.calendar_date as rate_date,
        days.calendar_date as effective_date,
        cast(1 as decimal(18, 6)) as base_per_unit
    from days

),

final as (

    select * from quoted
    union all
    select * from base_currency

)

select * from final
