-- Utilization per person over the period (marts.utilization_monthly and
-- marts.timesheet_compliance_monthly, docs/design.md §4): capacity, billable and logged hours, their
-- ratios and timesheet compliance, with the person's role, practice, region and entity.
with

months as (
    select
        u.*,
        c.due_days,
        c.on_time_days,
        c.late_days,
        c.missing_days
    from marts.utilization_monthly as u
    left join marts.timesheet_compliance_monthly as c
        on c.resource_id = u.resource_id and c.month_start_date = u.month_start_date
    where
        (len($legal_entity) = 0 or list_contains($legal_entity, u.legal_entity))
        and (len($region) = 0 or list_contains($region, u.region))
        and (len($practice) = 0 or list_contains($practice, u.practice))
        and ($period_start is null or u.month_start_date >= $period_start)
        and ($period_end is null or u.month_start_date <= $period_end)
)

select
    months.employee_id,
    concat_ws(' ', any_value(resources.first_name), any_value(resources.last_name)) as name,
    arg_max(months.role, months.month_start_date) as role,
    arg_max(months.practice, months.month_start_date) as practice,
    arg_max(months.region, months.month_start_date) as region,
    arg_max(months.legal_entity, months.month_start_date) as legal_entity,
    arg_max(months.employment_type, months.month_start_date) as employment_type,
    arg_max(months.weekly_capacity_hours, months.month_start_date) as weekly_capacity_hours,
    sum(months.capacity_days) as capacity_days,
    sum(months.capacity_hours) as capacity_hours,
    sum(months.billable_hours) as billable_hours,
    sum(months.logged_hours) as logged_hours,
    sum(months.billable_hours) / nullif(sum(months.capacity_hours), 0) as utilization,
    sum(months.logged_hours) / nullif(sum(months.capacity_hours), 0) as total_utilization,
    sum(months.due_days) as due_days,
    sum(months.on_time_days) as on_time_days,
    sum(months.on_time_days) / nullif(sum(months.due_days), 0) as compliance,
    any_value(resources.is_employed) as is_employed
from months
left join marts.dim_resources as resources using (resource_id)
group by months.employee_id
order by utilization desc nulls last, months.employee_id
