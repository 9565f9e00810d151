-- Contracts (statements of work): billing method, currency, contracting legal entity and
-- payment terms; with the project they bill and whether a contract-level exception blocks
-- their billing.

with

contracts as (

    select * from {{ ref('stg_salesforce__contracts') }}

),

exceptions as (

    select
        source_id as contract_source_id,
        count(*) as exception_count
    from {{ ref('int_contract_exceptions') }}
    group by source_id

),

final as (

    select
        {{ surrogate_key("'salesforce'", 'contracts.contract_source_id') }} as contract_id,
        'salesforce' as source_system,
        contracts.contract_source_id as source_id,
        {{ surrogate_key("'salesforce'", 'contracts.account_source_id') }} as client_id,
        contracts.account_source_id,
        contracts.contract_number,
        contracts.contract_name,
        contracts.status,
        contracts.billing_method,
        contracts.currency,
        contracts.legal_entity,
        contracts.payment_terms,
        contracts.start_date,
        contracts.end_date,
        contracts.term_months,
        contracts.fixed_fee_amount,
        contracts.retainer_monthly_fee,
        contracts.psa_system,
        contracts.project_code,
        coalesce(exceptions.exception_count, 0) > 0 as has_exception,
        contracts.is_deleted,
        contracts.activated_at,
        contracts.created_at,
        contracts.updated_at
    from contracts
    left join exceptions
        on contracts.contract_source_id = exceptions.contract_source_id

)

select * from final
