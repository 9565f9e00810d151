-- The firm's business calendars in force (its newest config/business_calendars file): the
-- non-working dates of each legal entity, which the SLA clock skips (macro business_days).
-- An empty newest file is in force too: the firm has no non-working dates.

with

landed_files as (

    -- every loaded version, empty ones included (ingest's file ledger)
    select source_file
    from {{ source('ops', 'landed_files') }}
    where
        system = 'config'
        and entity = 'business_calendars'
        and status = 'loaded'

),

source as (

    {%- set calendars = source('config', 'business_calendars') %}
    {%- set key = ['legal_entity', 'non_working_date'] %}
    {%- set files = 'select source_file from landed_files' %}
    select * from {{ current_snapshot(calendars, key, landed_files=files) }}

),

renamed as (

    select
        legal_entity,
        non_working_date,
        name as non_working_day_name,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
