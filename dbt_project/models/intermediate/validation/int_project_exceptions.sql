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

)

select
    source_system,
    'projects' as source_entity,
    source_id,
    reason,
    detail
from unmatched_project
