with

source as (

    select * from {{ current_snapshot(source('salesforce', 'contracts'), ['id']) }}

),

renamed as (

    select
        id as contract_source_id,
        account_id as account_source_id,
        contract_number,
        name as contract_name,
        status,
        start_date,
        end_date,
        contract_term as term_months,
        currency_iso_code as currency,
        billing_method,
        nullif(trim(legal_entity), '') as legal_entity,
        psa_system,
        nullif(trim(psa_project_code), '') as project_code,
        payment_terms,
        fixed_fee_amount,
        retainer_monthly_fee,
        not_to_exceed_hours,
        not_to_exceed_amount,
        activated_date as activated_at,
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
