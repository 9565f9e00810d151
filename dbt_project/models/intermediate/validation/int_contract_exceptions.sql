-- Contract-level exceptions (docs/design.md §5): they flag the Salesforce contract, not its entries
-- (docs/generator.md: a blocked contract is never billed, its work stays valid WIP).

with

contracts as (

    select * from {{ ref('stg_salesforce__contracts') }}
    where not is_deleted

),

projects as (

    select
        contract_source_id,
        source_system,
        project_source_id,
        currency
    from {{ ref('int_projects_matched') }}
    where contract_source_id is not null

),

currency_mismatch as (

    select distinct
        contracts.contract_source_id as source_id,
        'currency_mismatch' as reason,
        'contract in ' || contracts.currency || ', ' || projects.source_system || ' project '
        || projects.project_source_id || ' in ' || projects.currency as detail
    from contracts
    inner join projects
        on contracts.contract_source_id = projects.contract_source_id
    where contracts.currency != projects.currency

),

missing_legal_entity as (

    select
        contract_source_id as source_id,
        'missing_legal_entity' as reason,
        'Legal_Entity__c is empty' as detail
    from contracts
    where legal_entity is null

),

legal_entities as (

    select legal_entity from {{ ref('stg_config__legal_entities') }}

),

unknown_legal_entity as (

    select
        contracts.contract_source_id as source_id,
        'unknown_legal_entity' as reason,
        'Legal_Entity__c ' || contracts.legal_entity || ' is not a configured legal entity'
            as detail
    from contracts
    left join legal_entities
        on contracts.legal_entity = legal_entities.legal_entity
    where contracts.legal_entity is not null and legal_entities.legal_entity is null

),

unioned as (

    select * from currency_mismatch
    union all
    select * from missing_legal_entity
    union all
    select * from unknown_legal_entity

)

select
    'salesforce' as source_system,
    'contracts' as source_entity,
    source_id,
    reason,
    detail
from unioned
