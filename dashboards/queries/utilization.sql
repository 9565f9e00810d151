-- Utilization and timesheet compliance (marts.utilization_monthly and
-- marts.timesheet_compliance_monthly, docs/design.md §4) per month, practice, region and employing
-- legal entity. Ratios are ratios of these sums. The page slices months by the period.
select
    u.month_start_date,
    coalesce(u.practice, '(none)') as practice,
    coalesce(u.region, '(none)') as region,
    coalesce(u.legal_entity, '(none)') as legal_entity,
    count(*) filter (where u.capacity_days > 0) as resources_with_capacity,
    sum(u.capacity_days) as capacity_days,
    sum(u.capacity_hours) as capacity_hours,
    sum(u.billable_hours) as billable_hours,
    sum(u.logged_hours) as logged_hours,
    sum(c.due_days) as due_days,
    sum(c.on_time_days) as on_time_days,
    sum(c.late_days) as late_days,
    sum(c.missing_days) as missing_days
from marts.utilization_monthly as u
left join marts.timesheet_compliance_monthly as c
    on c.resource_id = u.resource_id and c.month_start_date = u.month_start_date
where
    (len($legal_entity) = 0 or list_contains($legal_entity, u.legal_entity))
    and (len($region) = 0 or list_contains($region, u.region))
    and (len($practice) = 0 or list_contains($practice, u.practice))
group by all
-- a total order: the page and the scoped query show the same rows in the same order
order by u.month_start_date, practice, region, legal_entity
