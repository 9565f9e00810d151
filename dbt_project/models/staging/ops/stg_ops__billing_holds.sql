-- Billing holds (docs/erp.md "The release gate and holds") with their lift, if lifted: a
-- held batch is not released, a held record not billed, until the expiry or the lift.

with

holds as (

    select * from {{ optional_relation(source('ops', 'billing_holds'), {
        'hold_id': 'varchar', 'scope': 'varchar', 'target': 'varchar',
        'approver': 'varchar', 'reason': 'varchar', 'expires_on': 'date',
        'placed_at': 'timestamp'
    }) }}

),

lifts as (

    select * from {{ optional_relation(source('ops', 'billing_hold_lifts'), {
        'hold_id': 'varchar', 'lifted_by': 'varchar', 'lifted_at': 'timestamp'
    }) }}

),

joined as (

    select
        holds.hold_id,
        holds.scope,
        holds.target,
        holds.approver,
        holds.reason,
        holds.expires_on,
        holds.placed_at,
        lifts.lifted_by,
        lifts.lifted_at
    from holds
    left join lifts on holds.hold_id = lifts.hold_id

)

select * from joined
