-- The firm's tax rules in force (its newest config/tax_rules file).

with

source as (

    {%- set key = ['legal_entity', 'client_country', 'line_kind'] %}
    select * from {{ current_snapshot(source('config', 'tax_rules'), key) }}

),

renamed as (

    select
        legal_entity,
        client_country,
        line_kind,
        tax_code,
        tax_rate,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
