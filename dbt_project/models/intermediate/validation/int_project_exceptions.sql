-- Exceptions of PSA projects: a billable project that matches no Salesforce contract,
-- neither by its project code nor through the identity mappings (docs/design.md §3: unmatched
-- records are exceptions). Its billable time can only resolve to the project default rate.

with

projects as (

    select * from {{ ref('int_projects_matched') }}

),

delivered as (

    select (select count(*) from {{ ref('stg_salesforce__contracts') }}) > 0 as has_contracts

),

legal_entities as (

    select legal_entity from {{ ref('legal_entities') }}

),

-- An internal project (no contract) takes its legal entity from its code (INT-<entity>-...):
-- a code without a configured entity part, such as INT-BENCH, leaves it without one.
unknown_legal_entity as (

    select
        projects.source_system,
        projects.project_source_id as source_id,
        'unknown_legal_entity' as reason,
        'internal project ' || projects.canonical_project_code || ' names no configured '
        || 'legal entity' as detail
    from projects
    left join legal_entities
        on {{ internal_project_legal_entity('projects.canonical_project_code') }}
        = legal_entities.legal_entity
    where
        projects.contract_source_id is null
        and projects.canonical_project_code like 'INT-%'
        and legal_entities.legal_entity is null

),

unmatched_project as (

    select
        projects.source_system,
        projects.project_source_id as source_id,
        'unmatched_project' as reason,
        'billable project ' || coalesce(projects.project_code, projects.project_name)
        || ' matches no contract' as detail
    from projects
    cross join delivered
    where
        delivered.has_contracts
        and projects.is_billable
        and projects.contract_source_id is null

),

unioned as (

    select * from unmatched_project
    union all
    select * from unknown_legal_entity

)

select
    source_system,
    'projects' as source_entity,
    source_id,
    reason,
    detail
from unioned
