-- The firm's legal entities (contracting and employing companies), from its configuration
-- (config/legal_entities). source_system stays 'reference' so the surrogate keys are stable.

with

legal_entities as (

    select * from {{ ref('stg_config__legal_entities') }}

),

final as (

    select
        {{ surrogate_key("'reference'", 'legal_entity') }} as legal_entity_id,
        'reference' as source_system,
        legal_entity as source_id,
        legal_entity,
        legal_entity_name,
        region,
        country_code,
        currency,
        psa_system
    from legal_entities

)

select * from final
