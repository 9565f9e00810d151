-- The record each frozen billing line bills: correlation id -> line key -> batch key.

with

source as (

    select * from {{ optional_relation(source('ops', 'erp_outbox_correlations'), {
        'correlation_id': 'varchar', 'line_key': 'varchar', 'batch_key': 'varchar'
    }) }}

),

renamed as (

    select
        correlation_id,
        line_key,
        batch_key
    from source

)

select * from renamed
