with

source as (

    select * from {{ source('concur', 'expenses') }}

),

renamed as (

    select
        -- ids
        cast(report_entry_id as varchar) as expense_source_id,
        report_id,
        cast(report_key as varchar) as report_key,
        cast(batch_id as varchar) as batch_id,
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

        -- report
        report_name,
        report_submit_date as submitted_at,
        report_final_approval_date as approved_at,
        report_payment_processing_date as payment_processing_date,

        -- entry
        report_entry_transaction_type as transaction_type,
        report_entry_expense_type_code as expense_type_code,
        report_entry_expense_type_name as expense_type_name,
        report_entry_transaction_date as transaction_date,
        report_entry_description as description,
        report_entry_vendor_name as vendor_name,
        report_entry_location_city_name as city_name,
        report_entry_payment_type_code as payment_type_code,
        report_entry_payment_type_code = 'CBCP' as is_company_paid,
        report_entry_receipt_received_flag as has_receipt,
        report_entry_is_personal_flag as is_personal,
        report_entry_is_billable_flag as is_billable,

        -- money: the posted amount in the reimbursement currency is authoritative
        report_entry_currency_alpha_code as transaction_currency,
        report_entry_transaction_amount as transaction_amount,
        report_entry_exchange_rate as transaction_exchange_rate,
        reimbursement_currency_alpha_iso_code as reimbursement_currency,
        report_entry_posted_amount as posted_amount,
        report_entry_approved_amount as approved_amount,
        journal_account_code as gl_account,
        journal_debit_or_credit as journal_side,
        journal_amount,

        -- allocation: client (account Id or legacy client code) and project code
        nullif(trim(allocation_custom_1_code), '') as client_ref,
        nullif(trim(allocation_custom_2_code), '') as project_code,

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
