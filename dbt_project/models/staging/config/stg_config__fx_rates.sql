-- The firm's own FX rates in force (its newest config/fx_rates file): the currencies its ERP
-- does not publish (int_fx_rates_daily applies the precedence, docs/design.md §3).

with

source as (

    {%- set key = ['effective_date', 'currency'] %}
    select * from {{ current_snapshot(source('config', 'fx_rates'), key) }}

),

renamed as (

    select
        effective_date,
        currency,
        base_currency,
        -- base currency (USD) per one unit of the currency
        base_per_unit,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
