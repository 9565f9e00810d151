-- ERP customer invoices: one row per invoice (latest export), with client, contract, legal
-- entity, the billing period it bills, amounts in the invoice currency and the reporting
-- currency (at the invoice's own exchange rate), and release and payment state at the as-of
-- date.

with

invoices as (

    select * from {{ ref('int_invoices_enriched') }}

),

final as (

    select
        {{ surrogate_key("'erp'", 'invoice_source_id') }} as invoice_id,
        'erp' as source_system,
        invoice_origin,
        batch_key,
        invoice_source_id as source_id,
        {{ correlation_id("'erp'", "'invoice'", 'invoice_source_id') }} as correlation_id,
        invoice_number,
        {{ surrogate_key("'salesforce'", 'account_source_id') }} as client_id,
        account_source_id,
        customer_source_id,
        customer_name,
        client_match_method,
        {{ surrogate_key("'salesforce'", 'contract_source_id') }} as contract_id,
        contract_source_id,
        project_code,
        legal_entity,
        currency,
        invoice_date,
        -- monthly billing: the month the invoice bills (macro invoice_period_end)
        cast(
            {{ dbt.date_trunc('month', invoice_period_end('invoice_date', 'invoice_origin')) }}
            as date
        ) as billing_period_start_date,
        {{ invoice_period_end('invoice_date', 'invoice_origin') }} as billing_period_end_date,
        posting_period,
        approval_status,
        status,
        released_date,
        due_date,
        paid_date,
        payment_terms,
        is_released,
        is_paid,
        subtotal,
        tax_total,
        total,
        amount_paid,
        amount_remaining,
        cast(base_per_unit as decimal(18, 6)) as reporting_fx_rate,
        '{{ var("reporting_currency") }}' as reporting_currency,
        {{ convert_money('total', 'base_per_unit') }} as total_reporting,
        created_at,
        updated_at,
        first_ingested_at,
        source_file,
        source_row_number
    from invoices

)

select * from final
