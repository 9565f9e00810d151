with

source as (

    select * from {{ source('ops', 'landed_files') }}

),

renamed as (

    select
        load_id,
        source_file,
        file_sha256,
        system as source_system,
        entity as source_entity,
        size_bytes,
        status as load_status,
        rows_read,
        rows_loaded,
        rows_rejected,
        duplicate_of_load_id,
        supersedes_load_id,
        loaded_at
    from source

)

select * from renamed
