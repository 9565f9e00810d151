-- One row per calendar day the firm's data touches: from the earliest dated record (FX
-- rates, work, expenses, invoices, holidays) to the later of the as-of date and the last
-- holiday planned, so calendars and daily FX have no gaps. Only dates in the firm's history
-- window count (macro is_plausible_date): one year typed wrong must not move the calendar.

with

bounds as (

    select
        min(first_date) as first_date,
        max(last_date) as last_date
    from (
        select
            min(effective_date) as first_date,
            max(effective_date) as last_date
        from {{ ref('stg_erp__fx_rates') }}
        where {{ is_plausible_date('effective_date') }}
        union all
        select
            min(work_date) as first_date,
            max(work_date) as last_date
        from {{ ref('int_time_entry_versions') }}
        where {{ is_plausible_date('work_date') }}
        union all
        select
            min(transaction_date) as first_date,
            max(transaction_date) as last_date
        from {{ ref('stg_concur__expenses') }}
        where {{ is_plausible_date('transaction_date') }}
        union all
        select
            min(invoice_date) as first_date,
            max(invoice_date) as last_date
        from {{ ref('stg_erp__invoices') }}
        where {{ is_plausible_date('invoice_date') }}
        union all
        select
            min(holiday_date) as first_date,
            max(holiday_date) as last_date
        from {{ ref('stg_hris__holidays') }}
        where {{ is_plausible_date('holiday_date') }}
        union all
        select
            {{ as_of_date() }} as first_date,
            {{ as_of_date() }} as last_date
    ) as ranges

),

numbers as (

    -- 8,192 days (22 years) covers any history the marts keep
    {{ dbt.generate_series(8192) }}

),

spine as (

    select
        cast({{ dbt.dateadd('day', 'numbers.generated_number - 1', 'bounds.first_date') }} as date)
            as calendar_date
    from numbers
    cross join bounds
    where
        numbers.generated_number - 1
        <= {{ dbt.datediff('bounds.first_date', 'bounds.last_date', 'day') }}

)

select * from spine
