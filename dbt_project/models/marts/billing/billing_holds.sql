-- Billing holds as of the as-of date (docs/erp.md "The release gate and holds"): in force
-- while not lifted and not expired (a hold ends at the start of its expiry day).

with

holds as (

    select * from {{ ref('stg_ops__billing_holds') }}

),

final as (

    select
        hold_id,
        scope,
        target,
        approver,
        reason,
        expires_on,
        placed_at,
        lifted_by,
        lifted_at,
        {{ in_force_at_as_of('lifted_at', 'expires_on') }} as is_in_force
    from holds

)

select * from final
