with

source as (

    select * from {{ source('quarantine', 'rejected_files') }}

),

renamed as (

    select
        load_id,
        source_file,
        file_sha256,
        system as source_system,
        entity as source_entity,
        reason as reject_reason,
        detail as reject_detail,
        rejected_at
    from source

)

select * from renamed
