-- One row per Concur expense line (latest extract): an entry extracted as one journal line,
-- or each allocation/journal line of one extracted as several. With its worker, client,
-- contract, project, policy outcome (on the entry's total), its share of the entry's ERP
-- posting, re-billable amount in the contract currency and posted amount in the reporting
-- currency. Amounts are signed: a credit (CR) line is negative and reduces what is re-billed;
-- a personal line is never re-billed (rebill_amount null, is_personal).

with

expenses as (

    select * from {{ ref('int_expenses_enriched') }}

),

exceptions as (

    select
        source_id,
        count(*) as exception_count,
        {{ dbt.listagg('reason', "', '", 'order by reason') }} as exception_reasons
    from {{ ref('int_expense_exceptions') }}
    group by source_id

),

invoiced as (

    select
        record_source_id,
        invoice_line_source_id,
        invoice_source_id,
        released_date,
        row_number() over (
            partition by record_source_id order by released_date, invoice_line_source_id
        ) as billing_rank
    from {{ ref('int_invoice_line_records') }}
    where record_kind = 'expense' and is_released

),

-- on any ERP invoice line known at the as-of date, released or not
on_invoice_lines as (

    select distinct record_source_id
    from {{ ref('int_invoice_line_records') }}
    where record_kind = 'expense'

),

outbox as (

    select
        correlation_id,
        batch_key
    from {{ ref('stg_ops__erp_outbox_correlations') }}

),

final as (

    select
        {{ surrogate_key("'concur'", 'expenses.expense_source_id') }} as expense_id,
        'concur' as source_system,
        expenses.expense_source_id as source_id,
        expenses.report_entry_id,
        {{ correlation_id("'concur'", "'expense'", 'expenses.expense_source_id') }}
            as correlation_id,
        expenses.report_id,
        expenses.batch_id,
        expenses.batch_date,

        -- who
        {{ surrogate_key("'hris'", 'expenses.employee_id') }} as resource_id,
        expenses.employee_id,

        -- client, contract, project, legal entity
        {{ surrogate_key("'salesforce'", 'expenses.account_source_id') }} as client_id,
        expenses.account_source_id,
        expenses.client_ref,
        {{ surrogate_key("'salesforce'", 'expenses.contract_source_id') }} as contract_id,
        expenses.contract_source_id,
        expenses.project_id,
        expenses.project_code,
        expenses.legal_entity,

        -- what
        expenses.expense_type_code,
        expenses.expense_type_name,
        expenses.transaction_date,
        expenses.description,
        expenses.vendor_name,
        expenses.payment_type_code,
        expenses.is_company_paid,
        expenses.has_receipt,
        expenses.is_personal,
        expenses.is_billable,
        expenses.gl_account,
        expenses.journal_side,
        expenses.submitted_at,
        expenses.approved_at,

        -- money
        expenses.transaction_currency,
        expenses.transaction_amount,
        expenses.reimbursement_currency,
        expenses.posted_amount,
        cast(expenses.entry_posted_amount as decimal(12, 2)) as entry_posted_amount,
        expenses.approved_amount,
        expenses.contract_currency,
        expenses.rebill_amount,
        '{{ var("reporting_currency") }}' as reporting_currency,
        expenses.posted_amount_reporting,
        expenses.tax_code,
        cast(expenses.tax_rate_percent as decimal(8, 4)) as tax_rate_percent,
        expenses.receipt_required_over,
        expenses.policy_limit,

        -- ERP expense posting
        expenses.journal_number,
        expenses.posting_line_source_id,
        expenses.posted_date,
        cast(expenses.erp_posted_amount as decimal(18, 2)) as erp_posted_amount,
        expenses.posting_currency,
        coalesce(expenses.posted_date <= {{ as_of_date() }}, false) as is_posted,

        -- validation
        exceptions.source_id is null as is_valid,
        coalesce(exceptions.exception_count, 0) as exception_count,
        exceptions.exception_reasons,

        -- batching: frozen into a Deliver-to-Bill billing batch, or on an ERP invoice line
        outbox.batch_key,
        (outbox.batch_key is not null or on_invoice_lines.record_source_id is not null)
            as is_batched,

        -- re-billing on ERP invoices released by the as-of date
        invoiced.record_source_id is not null as is_invoiced,
        {{ surrogate_key("'erp'", 'invoiced.invoice_source_id') }} as invoice_id,
        {{ surrogate_key("'erp'", 'invoiced.invoice_line_source_id') }} as invoice_line_id,

        -- lineage
        expenses.first_ingested_at,
        expenses.ingested_at,
        expenses.source_file,
        expenses.source_row_number

    from expenses
    left join exceptions
        on expenses.expense_source_id = exceptions.source_id
    left join invoiced
        on
            expenses.expense_source_id = invoiced.record_source_id
            and invoiced.billing_rank = 1
    left join on_invoice_lines
        on expenses.expense_source_id = on_invoice_lines.record_source_id
    left join outbox
        on
            {{ correlation_id("'concur'", "'expense'", 'expenses.expense_source_id') }}
            = outbox.correlation_id

)

select * from final
