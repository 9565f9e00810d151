-- Exception waivers (docs/erp.md "Exception waivers") with their lift, if lifted: a record
-- whose every exception is waived is billed, until the expiry or the lift.

with

waivers as (

    select * from {{ optional_relation(source('ops', 'billing_waivers'), {
        'waiver_id': 'varchar', 'correlation_id': 'varchar', 'exception_code': 'varchar',
        'approver': 'varchar', 'reason': 'varchar', 'expires_on': 'date',
        'placed_at': 'timestamp'
    }) }}

),

lifts as (

    select * from {{ optional_relation(source('ops', 'billing_waiver_lifts'), {
        'waiver_id': 'varchar', 'lifted_by': 'varchar', 'lifted_at': 'timestamp'
    }) }}

),

joined as (

    select
        waivers.waiver_id,
        waivers.correlation_id,
        waivers.exception_code,
        waivers.approver,
        waivers.reason,
        waivers.expires_on,
        waivers.placed_at,
        lifts.lifted_by,
        lifts.lifted_at
    from waivers
    left join lifts on waivers.waiver_id = lifts.waiver_id

)

select * from joined
