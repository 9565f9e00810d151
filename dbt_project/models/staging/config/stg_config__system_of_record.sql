-- The firm's system-of-record routing in force (its newest config/system_of_record file): during
-- a phased ERP migration, which system bills each domain of a legal entity's work (time,
-- expenses, invoices: the schedule's agreed amounts), from a cutover. `*` stands for any
-- entity; billing_batch_candidates leaves out what the legacy ERP owns. No file: the write-back
-- bills everything.

with

source as (

    {%- set key = ['legal_entity', 'domain', 'effective_from'] %}
    select * from {{ current_snapshot(source('config', 'system_of_record'), key) }}

),

renamed as (

    select
        legal_entity,
        domain,
        system,
        effective_from,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
