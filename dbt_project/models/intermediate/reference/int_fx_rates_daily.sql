-- One FX rate per currency and calendar day: the rate effective that day, else the latest
-- earlier one (a day without a published rate keeps the last rate). Rates are quoted as
-- base currency (USD) per unit; the base currency itself is 1 on every day.
-- Precedence (docs/design.md §3): a currency the ERP publishes takes the ERP's rates only;
-- the firm's config/fx_rates supplies the currencies the ERP does not publish. A currency
-- with no rate on a day has no row: the record is a missing_fx_rate exception. A rate dated
-- outside the history window applies on no day: an implausible_date exception
-- (int_record_date_exceptions).

with

erp_rates as (

    select
        currency,
        effective_date,
        base_per_unit
    from {{ ref('stg_erp__fx_rates') }}
    where {{ is_plausible_date('effective_date') }}

),

firm_rates as (

    select
        currency,
        effective_date,
        base_per_unit
    from {{ ref('stg_config__fx_rates') }}
    where
        base_currency = '{{ var("fx_base_currency", "USD") }}'
        and currency not in (select erp_rates.currency from erp_rates)
        and {{ is_plausible_date('effective_date') }}

),

published as (

    select
        currency,
        effective_date,
        base_per_unit,
        lead(effective_date) over (partition by currency order by effective_date)
            as next_effective_date
    from (
        select * from erp_rates
        union all
        select * from firm_rates
    ) as rates

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
