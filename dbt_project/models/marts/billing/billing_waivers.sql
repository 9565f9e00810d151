-- Exception waivers as of the as-of date (docs/erp.md "Exception waivers"): in force while
-- not lifted and not expired (a waiver ends at the start of its expiry day). A record with
-- exceptions is billed when every one of them is waived in force (is_record_waived).

with

waivers as (

    select * from {{ ref('stg_ops__billing_waivers') }}

),

exceptions as (

    select
        correlation_id,
        reason
    from {{ ref('billing_exceptions') }}

),

stated as (

    select
        waiver_id,
        correlation_id,
        exception_code,
        approver,
        reason,
        expires_on,
        placed_at,
        lifted_by,
        lifted_at,
        {{ in_force_at_as_of('lifted_at', 'expires_on') }} as is_in_force
    from waivers

),

-- records whose every open exception has a waiver in force
waived_records as (

    select exceptions.correlation_id
    from exceptions
    left join stated
        on
            exceptions.correlation_id = stated.correlation_id
            and exceptions.reason = stated.exception_code
            and stated.is_in_force
    group by exceptions.correlation_id
    having count(*) = count(stated.waiver_id)

),

final as (

    select
        stated.*,
        stated.correlation_id in (
            select waived_records.correlation_id from waived_records
        ) as is_record_waived
    from stated

)

select * from final
