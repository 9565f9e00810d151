-- The firm's service levels and limits in force (its newest config/sla_thresholds file).

with

source as (

    {%- set key = ['threshold'] %}
    select * from {{ current_snapshot(source('config', 'sla_thresholds'), key) }}

),

renamed as (

    select
        threshold,
        value,
        description,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
