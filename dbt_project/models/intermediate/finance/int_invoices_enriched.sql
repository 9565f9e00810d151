-- ERP invoices with their client account, contract, and release and payment state at the
-- as-of date: the legacy ERP export (latest version of each; client by explicit key, then
-- the MDM mapping) and the invoices Deliver-to-Bill wrote to the ERP (read back; client,
-- contract and legal entity from the outbox batch they were created from; due date and
-- payments from the newest reading of the daily ERP feedback).

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

-- an invoice dated outside the history window is held out of every figure, its lines too
-- (int_invoice_lines_enriched): an implausible_date exception (int_record_date_exceptions)
invoices as (

    select * from exported
    where version_rank = 1 and {{ is_plausible_date('invoice_date') }}

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

legacy as (

    select
        'legacy_export' as invoice_origin,
        cast(null as {{ type_text() }}) as batch_key,
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

),

written_back_invoices as (

    select * from {{ ref('stg_erp_api__invoices') }}

),

outbox as (

    select * from {{ ref('stg_ops__erp_outbox') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

),

-- the daily ERP feedback: each invoice's newest reading known at the as-of date
feedback_readings as (

    select
        *,
        row_number() over (
            partition by invoice_source_id order by read_at desc, load_id desc
        ) as reading_rank
    from {{ ref('stg_erp_api__invoice_status') }}
    where {{ known_at_as_of('read_at') }}

),

feedback as (

    select * from feedback_readings
    where reading_rank = 1

),

-- the invoice's state is the newer of the billing run's read-back and the feedback's reading
written_back_current as (

    select
        read_back.*,
        case
            when feedback.read_at >= read_back.ingested_at then feedback.erp_state
            else read_back.erp_state
        end as current_erp_state,
        feedback.due_date,
        feedback.paid_date,
        feedback.amount_paid,
        feedback.amount_remaining
    from written_back_invoices as read_back
    left join feedback
        on read_back.invoice_source_id = feedback.invoice_source_id

),

-- Tryton's states: draft and validated invoices are not released; posted and paid are.
-- The read-back is the ERP's current state, without the moment of posting: a posted
-- invoice counts as released on its accounting date, but never before the day it was
-- created in the ERP (the batch was sent), since finance backdates the accounting date to
-- the period end.
written_back_invoices_dated as (

    select
        written_back_invoices.*,
        case
            when written_back_invoices.current_erp_state in ('posted', 'paid')
                then greatest(
                    coalesce(
                        written_back_invoices.accounting_date, written_back_invoices.invoice_date
                    ),
                    cast(coalesce(outbox.sent_at, outbox.frozen_at) as date)
                )
        end as released_date
    from written_back_current as written_back_invoices
    left join outbox
        on written_back_invoices.batch_key = outbox.batch_key

),

written_back as (

    select
        'write_back' as invoice_origin,
        written_back_invoices.batch_key,
        written_back_invoices.invoice_source_id,
        written_back_invoices.invoice_number,
        written_back_invoices.account_source_id as customer_source_id,
        cast(null as {{ type_text() }}) as customer_name,
        written_back_invoices.account_source_id as account_ref,
        outbox.account_source_id,
        'outbox_batch' as client_match_method,
        outbox.contract_source_id,
        outbox.contract_source_id as contract_ref,
        cast(null as {{ type_text() }}) as project_code,
        outbox.legal_entity,
        written_back_invoices.currency,
        fx.base_per_unit,
        written_back_invoices.invoice_date,
        outbox.billing_period as posting_period,
        written_back_invoices.current_erp_state as approval_status,
        written_back_invoices.current_erp_state as status,
        written_back_invoices.released_date,
        -- due date and payments: the ERP feedback's (NULL before its first reading)
        written_back_invoices.due_date,
        written_back_invoices.paid_date,
        cast(null as {{ type_text() }}) as payment_terms,
        cast(null as {{ type_text() }}) as memo,
        written_back_invoices.subtotal,
        written_back_invoices.tax_total,
        written_back_invoices.total,
        written_back_invoices.amount_paid,
        written_back_invoices.amount_remaining,
        coalesce(written_back_invoices.released_date <= {{ as_of_date() }}, false) as is_released,
        coalesce(
            written_back_invoices.current_erp_state = 'paid'
            and coalesce(
                written_back_invoices.paid_date, written_back_invoices.invoice_date
            ) <= {{ as_of_date() }},
            false
        ) as is_paid,
        -- created in the ERP when the batch was sent
        coalesce(outbox.sent_at, outbox.frozen_at) as created_at,
        written_back_invoices.ingested_at as updated_at,
        true as has_accounts,
        written_back_invoices.ingested_at as first_ingested_at,
        cast(null as {{ type_text() }}) as source_file,
        cast(null as bigint) as source_row_number,
        written_back_invoices.ingested_at
    from written_back_invoices_dated as written_back_invoices
    left join outbox
        on written_back_invoices.batch_key = outbox.batch_key
    left join fx
        on
            written_back_invoices.currency = fx.currency
            and written_back_invoices.invoice_date = fx.rate_date
    -- created in the ERP by the as-of date
    where {{ known_at_as_of('coalesce(outbox.sent_at, outbox.frozen_at)') }}

),

final as (

    select * from legacy
    union all
    select * from written_back

)

select * from final
