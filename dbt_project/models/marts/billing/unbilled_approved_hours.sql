-- Unbilled approved hours (WIP) per project as of the as-of date (docs/design.md §4): approved by
-- the end of the as-of date, billable, valid (no record-level exception) and not on any
-- ERP invoice line released by then; value = hours x resolved bill rate (contract
-- currency, and the reporting currency: each entry at its work date's rate). Aged by days
-- from the approval date to the as-of date, in both currencies.
-- Work not valued at rate is left out (wip_excluded_time_entries): the hours of a contract
-- billed by its schedule (fixed fee, retainer, milestone) and work held past a cap.
-- Contract-level exceptions do not remove hours: a blocked contract is never billed, so
-- its work accumulates here (docs/generator.md, unbilled_wip.csv).

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

excluded as (

    select correlation_id from {{ ref('wip_excluded_time_entries') }}

),

approved_unbilled as (

    select
        time_entries.source_system,
        time_entries.project_source_id,
        time_entries.project_id,
        time_entries.project_code,
        time_entries.contract_id,
        time_entries.contract_source_id,
        time_entries.currency,
        time_entries.hours,
        time_entries.billable_amount,
        time_entries.billable_amount_reporting,
        time_entries.approved_at,
        as_of.as_of_date,
        {{ dbt.datediff('cast(time_entries.approved_at as date)', 'as_of.as_of_date', 'day') }}
            as days_since_approval
    from time_entries
    cross join as_of
    where
        time_entries.is_unbilled_wip
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)
        and time_entries.correlation_id not in (select excluded.correlation_id from excluded)

),

{%- set buckets = [
    ('0_30', 'days_since_approval <= 30'),
    ('31_60', 'days_since_approval between 31 and 60'),
    ('61_90', 'days_since_approval between 61 and 90'),
    ('91_120', 'days_since_approval between 91 and 120'),
    ('over_120', 'days_since_approval > 120'),
] %}

final as (

    select
        source_system,
        project_source_id,
        max(project_id) as project_id,
        max(project_code) as project_code,
        max(contract_id) as contract_id,
        max(contract_source_id) as contract_source_id,
        max(currency) as currency,
        as_of_date,
        count(*) as time_entry_count,
        cast(sum(hours) as decimal(18, 4)) as unbilled_approved_hours,
        cast(sum(billable_amount) as decimal(18, 2)) as unbilled_value,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(sum(billable_amount_reporting) as decimal(18, 2)) as unbilled_value_reporting,
        {%- for name, condition in buckets %}
            cast(
                sum(case when {{ condition }} then hours else 0 end) as decimal(18, 4)
            ) as hours_aged_{{ name }},
            cast(
                sum(case when {{ condition }} then billable_amount else 0 end) as decimal(18, 2)
            ) as value_aged_{{ name }},
            cast(
                sum(case when {{ condition }} then billable_amount_reporting else 0 end)
                as decimal(18, 2)
            ) as value_aged_{{ name }}_reporting,
        {%- endfor %}
        min(approved_at) as oldest_approved_at
    from approved_unbilled
    group by source_system, project_source_id, as_of_date

)

select * from final
