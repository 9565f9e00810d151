-- PSA projects of both PSAs: one row per project in its PSA's current export, with the
-- canonical project code, the contract it bills under (explicit key, then mapping), the
-- client and the legal entity.

with

projects as (

    select * from {{ ref('int_projects_matched') }}

),

contracts as (

    select
        contract_source_id,
        account_source_id,
        legal_entity
    from {{ ref('stg_salesforce__contracts') }}

),

final as (

    select
        projects.project_id,
        projects.source_system,
        projects.project_source_id as source_id,
        projects.project_name,
        projects.canonical_project_code as project_code,
        projects.project_code as psa_project_code,
        {{ surrogate_key("'salesforce'", 'projects.contract_source_id') }} as contract_id,
        projects.contract_source_id,
        projects.contract_match_method,
        {{ surrogate_key("'salesforce'", 'contracts.account_source_id') }} as client_id,
        coalesce(
            contracts.legal_entity,
            {{ internal_project_legal_entity('projects.canonical_project_code') }}
        ) as legal_entity,
        coalesce(projects.canonical_project_code like 'INT-%', false) as is_internal,
        projects.is_active,
        projects.is_billable,
        projects.start_date,
        projects.end_date,
        projects.default_bill_rate,
        projects.fixed_fee_amount,
        projects.currency,
        projects.client_source_id as psa_client_source_id,
        projects.client_name as psa_client_name,
        projects.updated_at
    from projects
    left join contracts
        on projects.contract_source_id = contracts.contract_source_id

)

select * from final
