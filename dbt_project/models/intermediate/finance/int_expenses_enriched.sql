-- Each Concur expense line (latest extract) with its worker, client account (explicit key,
-- then mapping), contract and project (by the allocated project code), expense policy,
-- tax rule, ERP posting, and its amounts in the contract and reporting currencies at the
-- transaction date's FX rate. The posted amount in the reimbursement currency is
-- authoritative (docs/sources.md).
--
-- A line belongs to its report entry: the policy compares the entry's total (an allocated
-- entry is one expense), and the ERP posts the entry as a whole, so each line carries its
-- share of the entry's posting (in proportion to its posted amount; the entry's last line
-- takes the rounding remainder, so the lines add up to the posting exactly). A personal
-- line is the employee's own money: never re-billed (and no project cost downstream).

{{ config(materialized='table') }}

with

extracted as (

    select
        *,
        {{ concur_expense_version_rank() }} as version_rank,
        min(ingested_at) over (partition by expense_source_id) as first_ingested_at
    from {{ ref('stg_concur__expenses') }}

),

-- a line dated outside the history window is held out of every figure: an
-- implausible_date exception (int_record_date_exceptions) until Concur corrects the date
latest as (

    select * from extracted
    where version_rank = 1 and {{ is_plausible_date('transaction_date') }}

),

expenses as (

    select
        *,
        sum(posted_amount) over (partition by report_entry_id) as entry_posted_amount,
        count(*) over (partition by report_entry_id) as entry_line_count,
        row_number() over (
            partition by report_entry_id order by journal_key, allocation_key, expense_source_id
        ) as entry_line_number
    from latest

),

workers as (

    select employee_id from {{ ref('stg_hris__workers') }}

),

clients as (

    select
        client_ref,
        account_source_id,
        match_method
    from {{ ref('int_clients_matched') }}
    where source_system = 'concur'

),

-- joined by project code: a code two contracts share names neither (int_projects_matched)
unique_contract_codes as (

    select project_code
    from {{ ref('stg_salesforce__contracts') }}
    where not is_deleted
    group by project_code
    having count(*) = 1

),

contracts as (

    select staged.*
    from {{ ref('stg_salesforce__contracts') }} as staged
    inner join unique_contract_codes
        on staged.project_code = unique_contract_codes.project_code
    where not staged.is_deleted

),

accounts as (

    select
        account_source_id,
        billing_country_code
    from {{ ref('stg_salesforce__accounts') }}

),

projects as (

    select
        canonical_project_code,
        min(project_id) as project_id
    from {{ ref('int_projects_matched') }}
    group by canonical_project_code

),

policy as (

    select * from {{ ref('stg_config__expense_policy') }}

),

tax_rules as (

    select
        legal_entity,
        client_country,
        tax_code,
        tax_rate
    from {{ ref('stg_config__tax_rules') }}
    where line_kind = 'expense'

),

posting_lines as (

    select * from {{ ref('int_expense_posting_lines') }}

),

postings as (

    -- An expense is posted from its first posting on: the earliest line, so one posted by
    -- the as-of date counts as posted even if the ERP posts it again later.
    select
        *,
        row_number() over (
            partition by report_entry_id
            order by posted_date, posting_line_source_id
        ) as posting_rank
    from posting_lines

),

fx_rates as (

    select
        currency,
        rate_date,
        base_per_unit
    from {{ ref('int_fx_rates_daily') }}

),

delivered as (

    select
        (select count(*) from workers) > 0 as has_workers,
        (select count(*) from accounts) > 0 as has_accounts

),

enriched as (

    select
        expenses.expense_source_id,
        expenses.report_entry_id,
        expenses.entry_line_count,
        expenses.entry_line_number,
        expenses.report_id,
        expenses.report_key,
        expenses.report_name,
        expenses.batch_id,
        expenses.batch_date,

        -- who
        expenses.employee_id,
        workers.employee_id is not null as is_worker_known,
        expenses.employee_legal_entity,

        -- what
        expenses.expense_type_code,
        expenses.expense_type_name,
        expenses.transaction_date,
        expenses.description,
        expenses.vendor_name,
        expenses.city_name,
        expenses.payment_type_code,
        expenses.is_company_paid,
        expenses.has_receipt,
        coalesce(expenses.is_personal, false) as is_personal,
        expenses.is_billable,
        expenses.gl_account,
        expenses.journal_side,
        expenses.submitted_at,
        expenses.approved_at,

        -- client, contract, project
        expenses.client_ref,
        clients.account_source_id as client_account_source_id,
        clients.match_method as client_match_method,
        expenses.project_code,
        contracts.contract_source_id,
        contracts.currency as contract_currency,
        contracts.legal_entity as contract_legal_entity,
        coalesce(contracts.account_source_id, clients.account_source_id) as account_source_id,
        projects.project_id,
        coalesce(contracts.legal_entity, expenses.employee_legal_entity) as legal_entity,
        accounts.billing_country_code as client_country,
        tax_rules.tax_code,
        tax_rules.tax_rate as tax_rate_percent,

        -- policy
        policy.receipt_required_over,
        policy.policy_limit,
        policy.is_rebillable_type,

        -- money
        expenses.transaction_currency,
        expenses.transaction_amount,
        expenses.reimbursement_currency,
        expenses.posted_amount,
        expenses.entry_posted_amount,
        expenses.approved_amount,
        {{ cross_rate('spend_fx.base_per_unit', 'contract_fx.base_per_unit') }}
            as contract_fx_rate,
        {{ cross_rate('spend_fx.base_per_unit', 'reporting_fx.base_per_unit') }}
            as reporting_fx_rate,

        -- ERP posting
        postings.posting_line_source_id,
        postings.journal_source_id,
        postings.journal_number,
        postings.posted_date,
        postings.amount as entry_erp_posted_amount,
        -- the line's fraction of its entry, fixed like a rate so the share is decimal arithmetic
        {{ convert_money(
            'postings.amount',
            cross_rate('expenses.posted_amount', 'nullif(expenses.entry_posted_amount, 0)')
        ) }} as erp_posted_share,
        postings.currency as posting_currency,

        delivered.has_workers,
        delivered.has_accounts,

        -- lineage
        expenses.first_ingested_at,
        expenses.source_file,
        expenses.source_row_number,
        expenses.ingested_at

    from expenses
    cross join delivered
    left join workers
        on expenses.employee_id = workers.employee_id
    left join clients
        on expenses.client_ref = clients.client_ref
    left join contracts
        on expenses.project_code = contracts.project_code
    left join accounts
        on
            coalesce(contracts.account_source_id, clients.account_source_id)
            = accounts.account_source_id
    left join projects
        on expenses.project_code = projects.canonical_project_code
    left join policy
        on
            expenses.expense_type_code = policy.expense_type_code
            and expenses.reimbursement_currency = policy.currency
    left join tax_rules
        on
            contracts.legal_entity = tax_rules.legal_entity
            and accounts.billing_country_code = tax_rules.client_country
    left join postings
        on
            expenses.report_entry_id = postings.report_entry_id
            and postings.posting_rank = 1
    left join fx_rates as spend_fx
        on
            expenses.reimbursement_currency = spend_fx.currency
            and expenses.transaction_date = spend_fx.rate_date
    left join fx_rates as contract_fx
        on
            contracts.currency = contract_fx.currency
            and expenses.transaction_date = contract_fx.rate_date
    left join fx_rates as reporting_fx
        on
            reporting_fx.currency = '{{ var("reporting_currency") }}'
            and expenses.transaction_date = reporting_fx.rate_date

),

apportioned as (

    -- erp_posted_share stays beside the amount: the line's share before the last line
    -- takes the rounding remainder
    select
        *,
        case
            when entry_erp_posted_amount is null then null
            when entry_line_number < entry_line_count then coalesce(erp_posted_share, 0)
            else entry_erp_posted_amount - coalesce(sum(
                case when entry_line_number < entry_line_count then erp_posted_share end
            ) over (partition by report_entry_id), 0)
        end as erp_posted_amount
    from enriched

),

final as (

    select
        *,
        case
            when is_billable and not is_personal and contract_source_id is not null
                then {{ convert_money('posted_amount', 'contract_fx_rate') }}
        end as rebill_amount,
        {{ convert_money('posted_amount', 'reporting_fx_rate') }} as posted_amount_reporting
    from apportioned

)

select * from final
