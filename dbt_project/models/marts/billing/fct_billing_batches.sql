-- The billing write-back's batches (docs/design.md §6): one row per batch frozen in the ERP
-- outbox, with its identity, control totals (batch currency), status and ERP document. The
-- outbox holds each batch's current state only; its history is fct_billing_batch_events.
-- Empty until the first billing run (the staging view reads an absent outbox as no rows).

with

batches as (

    select * from {{ ref('stg_ops__erp_outbox') }}

),

final as (

    select
        -- ids
        batch_key,
        billing_period,
        account_source_id,
        contract_source_id,
        legal_entity,

        -- control totals (batch currency)
        currency,
        line_count,
        total_quantity,
        total_amount,
        expected_tax,

        -- state
        outbox_status,
        attempts,
        next_attempt_at,
        last_error,
        mismatch_reason,

        -- the ERP's copy
        erp_adapter,
        erp_document_id,
        erp_number,
        erp_state,

        -- timestamps (UTC)
        frozen_by_run,
        frozen_at,
        sent_at,
        reconciled_at,
        updated_at
    from batches

)

select * from final
