-- Which Salesforce contract a PSA project bills under (docs/design.md §3 identity): the explicit
-- key first (the project code equals the contract's PSA_Project_Code__c), then the MDM
-- identity mapping (source_system, 'project', PSA project id) -> contract Id. The canonical
-- project code is the project's own code, else its contract's. A code two contracts share
-- is no explicit key (the firm's data can hold that; stg_salesforce__contracts warns): the
-- project then matches through a mapping or is an `unmatched_project` exception.

with

projects as (

    select * from {{ ref('int_projects_unioned') }}

),

contracts as (

    select
        contract_source_id,
        project_code
    from {{ ref('stg_salesforce__contracts') }}
    where not is_deleted

),

-- the project codes that name one contract: only those are an explicit key
unique_codes as (

    select project_code
    from contracts
    group by project_code
    having count(*) = 1

),

contracts_by_code as (

    select
        contracts.contract_source_id,
        contracts.project_code
    from contracts
    inner join unique_codes
        on contracts.project_code = unique_codes.project_code

),

mappings as (

    select
        source_system,
        source_id,
        target_id
    from {{ ref('stg_mdm__identity_mappings') }}
    where entity = 'project' and target_system = 'salesforce'

),

matched as (

    select
        projects.*,
        coalesce(by_code.contract_source_id, by_mapping.contract_source_id) as contract_source_id,
        coalesce(projects.project_code, by_mapping.project_code) as canonical_project_code,
        case
            when by_code.contract_source_id is not null then 'project_code'
            when by_mapping.contract_source_id is not null then 'identity_mapping'
        end as contract_match_method
    from projects
    left join contracts_by_code as by_code
        on projects.project_code = by_code.project_code
    left join mappings
        on
            projects.source_system = mappings.source_system
            and projects.project_source_id = mappings.source_id
    left join contracts as by_mapping
        on mappings.target_id = by_mapping.contract_source_id

)

-- every project column, then the match
select * from matched  -- noqa: AM04
