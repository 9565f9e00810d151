-- Rate card lines with their history (SCD2 from the snapshot snap_salesforce__rate_cards):
-- one row per version of a line. effective_from/to are the business dates a rate applies
-- to; valid_from/to bound when the CRM said so. Rate resolution uses current versions.

with

versions as (

    select * from {{
        snapshot_versions('snap_salesforce__rate_cards', 'stg_salesforce__rate_cards')
    }}

),

final as (

    select
        {{ hash_key(['rate_card_line_source_id', 'dbt_valid_from']) }} as rate_card_version_id,
        {{ surrogate_key("'salesforce'", 'rate_card_line_source_id') }} as rate_card_line_id,
        'salesforce' as source_system,
        rate_card_line_source_id as source_id,
        rate_card_line_name,
        {{ surrogate_key("'salesforce'", 'contract_source_id') }} as contract_id,
        contract_source_id,
        role,
        bill_rate,
        currency,
        effective_from,
        effective_to,
        cast(dbt_valid_from as timestamp) as valid_from,
        cast(dbt_valid_to as timestamp) as valid_to,
        dbt_valid_to is null as is_current,
        is_deleted,
        created_at,
        updated_at
    from versions

)

select * from final
