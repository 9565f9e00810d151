-- Exceptions of PSA projects: a billable project that matches no Salesforce contract,
-- neither by its project code nor through the identity mappings (docs/design.md §3: unmatched
-- records are exceptions). Its billable time can only resolve to the project default rate.
-- An internal project whose code names no configured legal entity is unknown_legal_entity
-- (docs/design.md §5).

with

projects as (

    select * from {{ ref('int_projects_matched') }}

),

delivered as (

    select (select count(*) from {{ ref('stg_salesforce__contracts') }}) > 0 as has_contracts

),

legal_entities as (

    select legal_entity from {{ ref('stg_config__legal_entities') }}

),

-- An internal project (no contract) takes its legal entity from its code (INT-<entity>-...):
-- a code without a configured entity part, such as INT-BENCH, leaves it without one.
internal_projects as (

    select
        source_system,
        project_source_id,
        canonical_project_code,
        {{ internal_project_legal_entity('canonical_project_code') }} as named_legal_entity
    from projects
    where contract_source_id is null and canonical_project_code like 'INT-%'

),

unknown_legal_entity as (

    select
        internal_projects.source_system,
        internal_projects.project_source_id as source_id,
        'unknown_legal_entity' as reason,
        'internal project ' || internal_projects.canonical_project_code || ' names no '
        || 'configured legal entity' as detail
    from internal_projects
    left join legal_entities
        on internal_projects.named_legal_entity = legal_entities.legal_entity
    where legal_entities.legal_entity is null

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
