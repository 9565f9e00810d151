with

source as (

    select * from {{ current_snapshot(source('salesforce', 'accounts'), ['id']) }}

),

renamed as (

    select
        id as account_source_id,
        name as account_name,
        type as account_type,
        industry,
        billing_city,
        billing_country,
        upper(billing_country_code) as billing_country_code,
        currency_iso_code as currency,
        nullif(trim(legal_entity), '') as legal_entity,
        nullif(trim(legacy_client_code), '') as legacy_client_code,
        owner_id,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        last_modified_date as updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
