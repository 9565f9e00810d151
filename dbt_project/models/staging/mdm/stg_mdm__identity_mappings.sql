with

source as (

    {%- set key = ['source_system', 'entity', 'source_id'] %}
    select * from {{ current_snapshot(source('mdm', 'identity_mappings'), key) }}

),

renamed as (

    select
        source_system,
        entity,
        source_id,
        target_system,
        target_id,
        maintained_by,
        updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
