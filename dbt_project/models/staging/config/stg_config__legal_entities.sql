-- The firm's legal entities in force (its newest config/legal_entities file).

with

source as (

    {%- set key = ['legal_entity'] %}
    select * from {{ current_snapshot(source('config', 'legal_entities'), key) }}

),

renamed as (

    select
        legal_entity,
        legal_entity_name,
        region,
        country_code,
        currency,
        psa_system,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
