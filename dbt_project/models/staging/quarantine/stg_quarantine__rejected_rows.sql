with

source as (

    select * from {{ source('quarantine', 'rejected_rows') }}

),

renamed as (

    select
        load_id,
        source_file,
        file_sha256,
        system as source_system,
        entity as source_entity,
        row_number as source_row_number,
        reason as reject_reason,
        detail as reject_detail,
        payload,
        rejected_at
    from source

)

select * from renamed
