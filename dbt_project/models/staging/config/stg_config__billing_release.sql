-- The firm's billing release rules in force (its newest config/billing_release file): per
-- legal entity, whether its frozen billing batches are released without a person (the
-- release gate of the billing run, erp/outbox/releasing.py). An entity without a row waits
-- for a person.

with

source as (

    {%- set key = ['legal_entity'] %}
    select * from {{ current_snapshot(source('config', 'billing_release'), key) }}

),

renamed as (

    select
        legal_entity,
        auto_release,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
