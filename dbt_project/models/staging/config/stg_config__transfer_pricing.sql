-- The firm's transfer-pricing rules in force (its newest config/transfer_pricing file): how a
-- supplying (employing) legal entity charges the labour of its people on another entity's
-- contract, from a work date. `*` stands for any entity; the mart intercompany_cross_charges
-- picks, per time entry, the most specific rule in force on its work date.

with

source as (

    {%- set key = ['from_entity', 'to_entity', 'effective_from'] %}
    select * from {{ current_snapshot(source('config', 'transfer_pricing'), key) }}

),

renamed as (

    select
        from_entity,
        to_entity,
        method,
        markup_pct,
        share_pct,
        effective_from,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
