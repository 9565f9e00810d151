-- The billing write-back's audit trail (docs/design.md §6): one row per status change of a
-- batch (ops.audit_log, insert-only), with the batch's period, client and legal entity so
-- the trail filters like the batches. Empty until the first billing run.

with

events as (

    select * from {{ ref('stg_ops__audit_log') }}

),

batches as (

    select
        batch_key,
        billing_period,
        account_source_id,
        legal_entity
    from {{ ref('stg_ops__erp_outbox') }}

),

final as (

    select
        -- ids
        events.event_id,
        events.batch_key,
        batches.billing_period,
        batches.account_source_id,
        batches.legal_entity,

        -- the change
        events.event_type,
        events.from_status,
        events.to_status,
        events.actor,
        events.run_id,
        events.detail_json,
        events.event_at
    from events
    left join batches on events.batch_key = batches.batch_key

)

select * from final
