-- One record per SAE journal line. An entry extracted as a single line keeps its Report
-- Entry Id as record id (the ERP posts by entry id); the lines of an entry extracted as
-- several (allocations over projects, credit offsets) are separate records
-- `<entry id>-<journal key>-<allocation key>`, each with its own signed journal amount.

with

source as (

    select
        *,
        count(*) over (
            partition by _source_file, report_entry_id
        ) as lines_of_entry
    from {{ source('concur', 'expenses') }}

),

renamed as (

    select
        -- ids
        case
            when lines_of_entry = 1 then cast(report_entry_id as {{ type_text() }})
            else concat_ws(
                '-',
                cast(report_entry_id as {{ type_text() }}),
                cast(journal_key as {{ type_text() }}),
                cast(allocation_key as {{ type_text() }})
            )
        end as expense_source_id,
        cast(report_entry_id as {{ type_text() }}) as report_entry_id,
        cast(journal_key as {{ type_text() }}) as journal_key,
        cast(allocation_key as {{ type_text() }}) as allocation_key,
        report_id,
        cast(report_key as {{ type_text() }}) as report_key,
        cast(batch_id as {{ type_text() }}) as batch_id,
        batch_date,
        sequence_number,

        -- employee (explicit key to the HR worker)
        employee_id,
        employee_first_name,
        employee_last_name,
        employee_group_id,
        employee_org_unit_1 as employee_legal_entity,
        employee_org_unit_2 as employee_cost_center,
        employee_org_unit_3 as employee_region,

        -- report: the tenant's timestamps when it exports them, else the published dates
        report_name,
        coalesce(report_submitted_at, cast(report_submit_date as timestamp))
            as submitted_at,
        coalesce(report_approved_at, cast(report_payment_processing_date as timestamp))
            as approved_at,
        report_payment_processing_date as payment_processing_date,

        -- entry
        report_entry_transaction_type as transaction_type,
        report_entry_expense_type_code as expense_type_code,
        report_entry_expense_type_name as expense_type_name,
        report_entry_transaction_date as transaction_date,
        report_entry_description as description,
        report_entry_vendor_name as vendor_name,
        report_entry_city as city_name,
        payment_type_code,
        payment_type_code = 'CBCP' as is_company_paid,
        report_entry_receipt_received as has_receipt,
        report_entry_is_personal as is_personal,
        report_entry_is_billable as is_billable,

        -- money: the signed journal amount in the reimbursement currency is authoritative;
        -- entry amounts repeat on every line of an entry, so a line of several carries its
        -- share of them (journal amount / posted amount)
        report_entry_currency as transaction_currency,
        cast(
            case
                when lines_of_entry = 1 then report_entry_transaction_amount
                else round(
                    report_entry_transaction_amount * journal_amount
                    / nullif(report_entry_posted_amount, 0),
                    2
                )
            end as decimal(12, 2)
        ) as transaction_amount,
        cast(
            case
                when report_entry_exchange_rate_direction = 'D'
                    then 1 / nullif(report_entry_exchange_rate, 0)
                else report_entry_exchange_rate
            end as decimal(12, 6)
        ) as transaction_exchange_rate,
        reimbursement_currency,
        cast(journal_amount as decimal(12, 2)) as posted_amount,
        cast(
            case
                when lines_of_entry = 1 then report_entry_approved_amount
                else round(
                    report_entry_approved_amount * journal_amount
                    / nullif(report_entry_posted_amount, 0),
                    2
                )
            end as decimal(12, 2)
        ) as approved_amount,
        allocation_percentage,
        journal_account_code as gl_account,
        journal_debit_or_credit as journal_side,
        cast(journal_amount as decimal(12, 2)) as journal_amount,

        -- allocation: client (account Id or legacy client code); project of the
        -- allocation, else the entry's (Concur's standard project field)
        nullif(trim(allocation_client), '') as client_ref,
        coalesce(nullif(trim(allocation_project), ''), nullif(trim(report_entry_project), ''))
            as project_code,

        -- lineage
        _source_file as source_file,
        _file_sha256 as source_file_sha256,
        _row_number as source_row_number,
        _ingested_at as ingested_at,
        _load_id as load_id

    from source

)

-- extracts up to the as-of date: a rebuild for a past date sees the approvals known then
select * from renamed
where {{ known_at_as_of('batch_date') }}
