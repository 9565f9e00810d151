-- Clients: one row per Salesforce account (the client master), with the legacy client
-- code other systems still use.

with

accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

final as (

    select
        {{ surrogate_key("'salesforce'", 'account_source_id') }} as client_id,
        'salesforce' as source_system,
        account_source_id as source_id,
        account_name as client_name,
        account_type,
        industry,
        billing_city,
        billing_country,
        billing_country_code,
        currency,
        legal_entity,
        legacy_client_code,
        is_deleted,
        created_at,
        updated_at
    from accounts

)

select * from final
