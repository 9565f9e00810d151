-- Each time entry (latest version) with who did it (HR worker and role), which project it
-- is on (PSA project master), which contract and client that project bills under, the
-- assignments the PSA knows, the contracting legal entity and the tax rule of its labour.
-- Everything the rate resolution and the exception rules need, one row per entry.

with

entries as (

    select * from {{ ref('int_time_entries_unioned') }}

),

projects as (

    select * from {{ ref('int_projects_matched') }}

),

people as (

    select
        source_system,
        person_source_id,
        employee_id,
        match_method
    from {{ ref('int_people_matched') }}

),

workers as (

    select
        employee_id,
        role,
        legal_entity,
        region
    from {{ ref('stg_hris__workers') }}

),

contracts as (

    select * from {{ ref('stg_salesforce__contracts') }}

),

accounts as (

    select
        account_source_id,
        billing_country_code
    from {{ ref('stg_salesforce__accounts') }}

),

-- which users and tasks are assigned to a project, in the PSAs that export assignments
-- (has_assignments in var psa_sources; no rows when none does)
user_assignments as (

    {{ union_psa_staging(
        'user_assignments',
        {'project_source_id': 'varchar', 'person_source_id': 'varchar'},
        property='has_assignments',
        distinct=true
    ) }}

),

task_assignments as (

    {{ union_psa_staging(
        'task_assignments',
        {'project_source_id': 'varchar', 'task_source_id': 'varchar'},
        property='has_assignments',
        distinct=true
    ) }}

),

tax_rules as (

    select
        legal_entity,
        client_country,
        tax_code,
        tax_rate
    from {{ ref('stg_config__tax_rules') }}
    where line_kind = 'labour'

),

-- Rules that compare with a master data set are evaluated once that set has been
-- delivered (for the entry's PSA): before its first file, every entry would otherwise be an
-- exception.
delivered as (

    select (select count(*) from workers) > 0 as has_workers

),

delivered_by_psa as (

    select
        source_system,
        count(*) > 0 as has_projects
    from {{ ref('int_projects_unioned') }}
    group by source_system

),

people_by_psa as (

    select
        source_system,
        count(*) > 0 as has_people
    from people
    group by source_system

),

user_assignments_by_psa as (

    select
        source_system,
        count(*) > 0 as has_user_assignments
    from user_assignments
    group by source_system

),

task_assignments_by_psa as (

    select
        source_system,
        count(*) > 0 as has_task_assignments
    from task_assignments
    group by source_system

),

enriched as (

    select
        entries.source_system,
        entries.source_id,
        entries.source_id_number,

        -- who
        entries.person_source_id,
        entries.person_name,
        people.employee_id,
        people.match_method as person_match_method,
        workers.role as worker_role,
        workers.legal_entity as worker_legal_entity,
        workers.region as worker_region,

        -- what project, contract and client
        entries.project_ref,
        coalesce(projects.project_source_id, entries.project_ref) as project_source_id,
        projects.project_id,
        projects.project_id is not null as is_project_known,
        coalesce(
            projects.canonical_project_code, entries.project_code_on_entry
        ) as project_code,
        projects.is_active as is_project_active,
        projects.end_date as project_end_date,
        projects.default_bill_rate as project_default_rate,
        projects.currency as project_currency,
        projects.contract_source_id,
        projects.contract_match_method,
        contracts.end_date as contract_end_date,
        contracts.currency as contract_currency,
        contracts.billing_method,
        contracts.legal_entity as contract_legal_entity,
        contracts.account_source_id,
        accounts.billing_country_code as client_country,
        entries.task_ref,
        entries.task_name,
        entries.client_name_on_entry,
        user_assignments.person_source_id is not null as has_user_assignment,
        task_assignments.task_source_id is not null as has_task_assignment,

        -- legal entity: the contracting entity, else the employing one (internal work)
        coalesce(contracts.legal_entity, workers.legal_entity) as legal_entity,
        tax_rules.tax_code,
        tax_rules.tax_rate as tax_rate_percent,

        -- the work
        entries.work_date,
        entries.hours,
        entries.notes,
        entries.is_billable,
        entries.psa_bill_rate,
        entries.psa_amount,
        entries.psa_currency,
        entries.approval_status,
        entries.submitted_at,
        entries.approved_at,
        entries.created_at,
        entries.updated_at,

        -- which checks apply
        coalesce(delivered_by_psa.has_projects, false) as has_project_master,
        coalesce(user_assignments_by_psa.has_user_assignments, false) as has_user_assignments,
        coalesce(task_assignments_by_psa.has_task_assignments, false) as has_task_assignments,
        delivered.has_workers and coalesce(people_by_psa.has_people, false) as has_people_master,

        -- lineage
        entries.version_count,
        entries.first_ingested_at,
        entries.source_file,
        entries.source_row_number,
        entries.ingested_at

    from entries
    cross join delivered
    left join delivered_by_psa
        on entries.source_system = delivered_by_psa.source_system
    left join people_by_psa
        on entries.source_system = people_by_psa.source_system
    left join user_assignments_by_psa
        on entries.source_system = user_assignments_by_psa.source_system
    left join task_assignments_by_psa
        on entries.source_system = task_assignments_by_psa.source_system
    left join projects
        on
            entries.source_system = projects.source_system
            and entries.project_ref = projects.project_ref
    left join people
        on
            entries.source_system = people.source_system
            and entries.person_source_id = people.person_source_id
    left join workers
        on people.employee_id = workers.employee_id
    left join contracts
        on projects.contract_source_id = contracts.contract_source_id
    left join accounts
        on contracts.account_source_id = accounts.account_source_id
    left join user_assignments
        on
            entries.source_system = user_assignments.source_system
            and entries.project_ref = user_assignments.project_source_id
            and entries.person_source_id = user_assignments.person_source_id
    left join task_assignments
        on
            entries.source_system = task_assignments.source_system
            and entries.project_ref = task_assignments.project_source_id
            and entries.task_ref = task_assignments.task_source_id
    left join tax_rules
        on
            contracts.legal_entity = tax_rules.legal_entity
            and accounts.billing_country_code = tax_rules.client_country

)

select * from enriched
