-- The write-back's audit trail (docs/design.md §6): one row per status change of a batch.

with

source as (

    select * from {{ optional_relation(source('ops', 'audit_log'), {
        'event_id': 'varchar', 'batch_key': 'varchar', 'event': 'varchar',
        'from_status': 'varchar', 'to_status': 'varchar', 'run_id': 'varchar',
        'actor': 'varchar', 'detail': 'json', 'event_at': 'timestamp'
    }) }}

),

renamed as (

    select
        event_id,
        batch_key,
        event as event_type,
        from_status,
        to_status,
        run_id,
        actor,
        cast(detail as {{ type_text() }}) as detail_json,
        event_at
    from source

)

select * from renamed
