-- The exception queue (docs/design.md §5): one row per (record, reason) over time entries, Concur
-- expenses, Salesforce contracts, PSA projects, ERP invoices and FX rates, with category,
-- severity and owner team (seed exception_reasons), the date the pipeline first saw the
-- record, and the record's identity and money for triage. An excepted record is never billed until
-- its exception is resolved. `over_cap` is the one billing hold among the reasons: the entry is
-- valid work (fct_time_entries.is_valid) that a not-to-exceed cap keeps off the invoice until
-- the cap is raised (wip_excluded_time_entries).

with

findings as (

    select * from {{ ref('int_time_entry_exceptions') }}
    union all
    select * from {{ ref('int_expense_exceptions') }}
    union all
    select * from {{ ref('int_contract_exceptions') }}
    union all
    select * from {{ ref('int_project_exceptions') }}
    union all
    select * from {{ ref('int_invoice_exceptions') }}
    union all
    select
        source_system,
        source_entity,
        source_id,
        reason,
        detail
    from {{ ref('int_time_entry_date_exceptions') }}
    union all
    select
        source_system,
        source_entity,
        source_id,
        reason,
        detail
    from {{ ref('int_record_date_exceptions') }}
    union all
    select
        source_system,
        'time_entries' as source_entity,
        source_id,
        exclusion_reason as reason,
        'work past the not-to-exceed cap of contract ' || contract_source_id as detail
    from {{ ref('wip_excluded_time_entries') }}
    where exclusion_reason = 'over_cap'

),

reasons as (

    select * from {{ ref('exception_reasons') }}

),

time_entries as (

    select
        source_system,
        source_id,
        'time_entries' as source_entity,
        'time_entry' as record_kind,
        work_date as record_date,
        project_code,
        contract_source_id,
        account_source_id,
        legal_entity,
        employee_id,
        hours,
        billable_amount as amount,
        rate_currency as currency,
        first_ingested_at
    from {{ ref('int_time_entries_rated') }}

),

-- held out of every figure for an implausible date: no record date (the date is the fault)
time_entries_held_out as (

    select
        source_system,
        source_id,
        source_entity,
        'time_entry' as record_kind,
        cast(null as date) as record_date,
        project_code,
        cast(null as {{ type_text() }}) as contract_source_id,
        cast(null as {{ type_text() }}) as account_source_id,
        cast(null as {{ type_text() }}) as legal_entity,
        cast(null as {{ type_text() }}) as employee_id,
        hours,
        cast(null as decimal(18, 2)) as amount,
        cast(null as {{ type_text() }}) as currency,
        first_ingested_at
    from {{ ref('int_time_entry_date_exceptions') }}

),

-- expenses, invoices and FX rates held out for an implausible date: no record date either
records_held_out as (

    select
        source_system,
        source_id,
        source_entity,
        record_kind,
        cast(null as date) as record_date,
        project_code,
        cast(null as {{ type_text() }}) as contract_source_id,
        cast(null as {{ type_text() }}) as account_source_id,
        cast(null as {{ type_text() }}) as legal_entity,
        cast(null as {{ type_text() }}) as employee_id,
        cast(null as decimal(12, 4)) as hours,
        amount,
        currency,
        first_ingested_at
    from {{ ref('int_record_date_exceptions') }}

),

expenses as (

    select
        'concur' as source_system,
        expense_source_id as source_id,
        'expenses' as source_entity,
        'expense' as record_kind,
        transaction_date as record_date,
        project_code,
        contract_source_id,
        account_source_id,
        legal_entity,
        employee_id,
        cast(null as decimal(12, 4)) as hours,
        posted_amount as amount,
        reimbursement_currency as currency,
        first_ingested_at
    from {{ ref('int_expenses_enriched') }}

),

contracts as (

    select
        'salesforce' as source_system,
        contract_source_id as source_id,
        'contracts' as source_entity,
        'contract' as record_kind,
        start_date as record_date,
        project_code,
        contract_source_id,
        account_source_id,
        legal_entity,
        cast(null as {{ type_text() }}) as employee_id,
        cast(null as decimal(12, 4)) as hours,
        cast(null as decimal(18, 2)) as amount,
        currency,
        first_ingested_at
    from {{ ref('stg_salesforce__contracts') }}

),

projects as (

    select
        source_system,
        project_source_id as source_id,
        'projects' as source_entity,
        'project' as record_kind,
        start_date as record_date,
        canonical_project_code as project_code,
        contract_source_id,
        cast(null as {{ type_text() }}) as account_source_id,
        cast(null as {{ type_text() }}) as legal_entity,
        cast(null as {{ type_text() }}) as employee_id,
        cast(null as decimal(12, 4)) as hours,
        cast(null as decimal(18, 2)) as amount,
        currency,
        first_ingested_at
    from {{ ref('int_projects_matched') }}

),

invoices as (

    select
        'erp' as source_system,
        invoice_source_id as source_id,
        'invoices' as source_entity,
        'invoice' as record_kind,
        invoice_date as record_date,
        project_code,
        contract_source_id,
        account_source_id,
        legal_entity,
        cast(null as {{ type_text() }}) as employee_id,
        cast(null as decimal(12, 4)) as hours,
        total as amount,
        currency,
        first_ingested_at
    from {{ ref('int_invoices_enriched') }}

),

records as (

    select * from time_entries
    union all
    select * from time_entries_held_out
    union all
    select * from records_held_out
    union all
    select * from expenses
    union all
    select * from contracts
    union all
    select * from projects
    union all
    select * from invoices

),

final as (

    select
        {%- set exception_key = [
            'findings.source_system',
            'findings.source_entity',
            'findings.source_id',
            'findings.reason',
        ] %}
        {{ hash_key(exception_key) }} as exception_id,
        findings.source_system,
        findings.source_entity,
        findings.source_id,
        records.record_kind,
        {{ correlation_id('findings.source_system', 'records.record_kind', 'findings.source_id') }}
            as correlation_id,
        findings.reason,
        reasons.category,
        reasons.severity,
        reasons.owner_team,
        findings.detail,
        cast(records.first_ingested_at as date) as first_seen_date,
        {{ as_of_date() }} as as_of_date,
        records.record_date,
        records.project_code,
        {{ surrogate_key("'salesforce'", 'records.contract_source_id') }} as contract_id,
        records.contract_source_id,
        {{ surrogate_key("'salesforce'", 'records.account_source_id') }} as client_id,
        records.legal_entity,
        records.employee_id,
        cast(records.hours as decimal(12, 4)) as hours,
        cast(records.amount as decimal(18, 2)) as amount,
        records.currency
    from findings
    inner join records
        on
            findings.source_system = records.source_system
            and findings.source_entity = records.source_entity
            and findings.source_id = records.source_id
    left join reasons
        on findings.reason = reasons.reason

)

select * from final
