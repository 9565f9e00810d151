-- One row per Salesforce contract: its billing method, not-to-exceed caps and the basis its
-- work is valued and billed on (docs/design.md §4):
--   schedule  a fixed-fee, retainer or milestone contract with schedule lines of its method's
--             type (instalment, retainer_period, milestone): what is due comes from the
--             schedule, its hours are not WIP at rate
--   hours     every other contract: time and materials, and a non-T&M contract whose
--             schedule the CRM does not export (its hours stay WIP at rate, as before)

with

contracts as (

    select
        *,
        -- the schedule line type a method bills by
        case billing_method
            when 'fixed_fee' then 'instalment'
            when 'retainer' then 'retainer_period'
            when 'milestone' then 'milestone'
        end as schedule_line_type
    from {{ ref('stg_salesforce__contracts') }}
    where not is_deleted

),

schedule_lines as (

    select * from {{ ref('stg_salesforce__billing_schedule_lines') }}
    where not is_deleted

),

lines_per_contract as (

    select
        schedule_lines.contract_source_id,
        count(*) as schedule_line_count
    from schedule_lines
    inner join contracts
        on
            schedule_lines.contract_source_id = contracts.contract_source_id
            and schedule_lines.line_type = contracts.schedule_line_type
    group by schedule_lines.contract_source_id

),

final as (

    select
        contracts.contract_source_id,
        contracts.billing_method,
        contracts.currency,
        contracts.not_to_exceed_hours,
        contracts.not_to_exceed_amount,
        contracts.schedule_line_type,
        coalesce(lines_per_contract.schedule_line_count, 0) as schedule_line_count,
        case
            when lines_per_contract.schedule_line_count > 0 then 'schedule' else 'hours'
        end as billing_basis
    from contracts
    left join lines_per_contract
        on contracts.contract_source_id = lines_per_contract.contract_source_id

)

select * from final
