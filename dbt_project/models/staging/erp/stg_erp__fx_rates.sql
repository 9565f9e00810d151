with

source as (

    {%- set key = ['effective_date', 'transaction_currency'] %}
    select * from {{ current_snapshot(source('erp', 'fx_rates'), key) }}

),

renamed as (

    select
        effective_date,
        transaction_currency as currency,
        base_currency,
        -- base currency (USD) per one unit of the currency
        exchange_rate as base_per_unit,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
