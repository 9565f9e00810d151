-- Fails if timesheet compliance judges other days than utilization counts as capacity:
-- both marts derive capacity days from dim_calendar and dim_resources, and must agree on
-- every resource and month.

-- an asset check of timesheet_compliance_monthly in Dagster (it reads two models)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'timesheet_compliance_monthly'}},
}) }}

select
    utilization.resource_id,
    utilization.month_start_date,
    utilization.capacity_days as utilization_capacity_days,
    compliance.capacity_days as compliance_capacity_days
from {{ ref('utilization_monthly') }} as utilization
full outer join {{ ref('timesheet_compliance_monthly') }} as compliance
    on
        utilization.resource_id = compliance.resource_id
        and utilization.month_start_date = compliance.month_start_date
where utilization.capacity_days is distinct from compliance.capacity_days
