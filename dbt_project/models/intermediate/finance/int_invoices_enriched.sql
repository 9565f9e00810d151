-- ERP invoices (latest export of each) with their client account (explicit key, then the
-- MDM mapping) and contract, and their release and payment state at the as-of date.

with

exported as (

    select
        *,
        row_number() over (
            partition by invoice_source_id
            order by updated_at desc, ingested_at desc, source_file desc, source_row_number desc
        ) as version_rank,
        min(ingested_at) over (partition by invoice_source_id) as first_ingested_at
    from {{ ref('stg_erp__invoices') }}

),

invoices as (

    select * from exported
    where version_rank = 1

),

clients as (

    select
        client_ref,
        account_source_id,
        match_method
    from {{ ref('int_clients_matched') }}
    where source_system = 'erp'

),

contracts as (

    select contract_source_id from {{ ref('stg_salesforce__contracts') }}

),

accounts as (

    select account_source_id from {{ ref('stg_salesforce__accounts') }}

),

delivered as (

    select (select count(*) from accounts) > 0 as has_accounts

),

enriched as (

    select
        invoices.invoice_source_id,
        invoices.invoice_number,
        invoices.customer_source_id,
        invoices.customer_name,
        invoices.account_ref,
        clients.account_source_id,
        clients.match_method as client_match_method,
        contracts.contract_source_id,
        invoices.contract_ref,
        invoices.project_code,
        invoices.legal_entity,
        invoices.currency,
        invoices.base_per_unit,
        invoices.invoice_date,
        invoices.posting_period,
        invoices.approval_status,
        invoices.status,
        invoices.released_date,
        invoices.due_date,
        invoices.paid_date,
        invoices.payment_terms,
        invoices.memo,
        invoices.subtotal,
        invoices.tax_total,
        invoices.total,
        invoices.amount_paid,
        invoices.amount_remaining,
        coalesce(invoices.released_date <= {{ as_of_date() }}, false) as is_released,
        coalesce(
            invoices.status = 'Paid In Full' and invoices.paid_date <= {{ as_of_date() }}, false
        ) as is_paid,
        invoices.created_at,
        invoices.updated_at,
        delivered.has_accounts,
        invoices.first_ingested_at,
        invoices.source_file,
        invoices.source_row_number,
        invoices.ingested_at
    from invoices
    cross join delivered
    left join clients
        on invoices.customer_source_id = clients.client_ref
    left join contracts
        on invoices.contract_ref = contracts.contract_source_id

)

select * from enriched
