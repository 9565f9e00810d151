-- Record-level exceptions of time entries (docs/design.md §5): one row per (entry, reason), each
-- reason implementing its predicate in docs/generator.md exactly, on the latest version of
-- every entry. All reasons except unknown_project, duplicate_entry, future_dated and
-- over_daily_limit require the project to be known; task_not_on_project and
-- resource_not_assigned apply to PSAs that export assignments (has_user_assignments), and
-- rate_mismatch and future_dated to entries that carry a PSA rate or a creation time.
-- negative_hours, unknown_approval_status, missing_tax_rule and missing_fx_rate are value
-- rules the load does not enforce (docs/design.md §2): the entry loads and waits here for its
-- owner.

-- Incremental: a daily run rebuilds the exceptions of entries worked on or after the
-- cutoff (macros/incremental.sql); both set-wide rules group entries of one day.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_incremental_scope(
        entries_from_cutoff(ref('int_time_entries_rated'), incremental_cutoff())
    ) }}",
    post_hook="{{ record_incremental_state() }}",
) }}

-- depends_on: {{ ref('int_time_entry_versions') }}
{%- set cutoff = incremental_cutoff() %}

with

entries as (

    select * from {{ ref('int_time_entries_rated') }}
    where {{ on_or_after_cutoff('work_date', cutoff) }}

),

known as (

    select * from entries
    where is_project_known

),

unknown_project as (

    select
        source_system,
        source_id,
        'unknown_project' as reason,
        'project ' || project_ref || ' is not in the ' || source_system || ' project export'
            as detail
    from entries
    where has_project_master and not is_project_known

),

closed_project as (

    select
        source_system,
        source_id,
        'closed_project' as reason,
        'work on ' || cast(work_date as {{ type_text() }}) || ', project closed on '
        || cast(project_end_date as {{ type_text() }}) as detail
    from known
    where not is_project_active and work_date > project_end_date

),

task_not_on_project as (

    select
        source_system,
        source_id,
        'task_not_on_project' as reason,
        'task ' || task_ref || ' is not assigned to project ' || project_ref as detail
    from known
    where has_task_assignments and not has_task_assignment

),

resource_not_assigned as (

    select
        source_system,
        source_id,
        'resource_not_assigned' as reason,
        'user ' || person_source_id || ' is not assigned to project ' || project_ref as detail
    from known
    where has_user_assignments and not has_user_assignment

),

missing_rate as (

    select
        source_system,
        source_id,
        'missing_rate' as reason,
        'no rate for role ' || coalesce(worker_role, '(unknown)') || ' on '
        || cast(work_date as {{ type_text() }}) as detail
    from known
    where is_billable and resolved_bill_rate is null

),

rate_mismatch as (

    select
        source_system,
        source_id,
        'rate_mismatch' as reason,
        'PSA rate ' || cast(psa_bill_rate as {{ type_text() }}) || ' vs resolved '
        || cast(resolved_bill_rate as {{ type_text() }}) as detail
    from known
    where
        is_billable
        and resolved_bill_rate is not null
        and psa_bill_rate is not null
        and psa_bill_rate != resolved_bill_rate

),

duplicate_groups as (

    select
        source_system,
        source_id,
        row_number() over (
            partition by
                source_system, person_source_id, project_ref, task_ref, work_date, hours, notes
            order by source_id_number, source_id
        ) as occurrence,
        first_value(source_id) over (
            partition by
                source_system, person_source_id, project_ref, task_ref, work_date, hours, notes
            order by source_id_number, source_id
        ) as original_source_id
    from entries

),

duplicate_entry as (

    select
        source_system,
        source_id,
        'duplicate_entry' as reason,
        'duplicate of entry ' || original_source_id as detail
    from duplicate_groups
    where occurrence > 1

),

future_dated as (

    select
        source_system,
        source_id,
        'future_dated' as reason,
        'work on ' || cast(work_date as {{ type_text() }}) || ', created on '
        || cast(cast(created_at as date) as {{ type_text() }}) as detail
    from entries
    where work_date > cast(created_at as date)

),

worker_days as (

    select
        source_system,
        source_id,
        employee_id,
        work_date,
        sum(hours) over (partition by employee_id, work_date) as day_hours
    from entries
    where employee_id is not null

),

over_daily_limit as (

    select
        source_system,
        source_id,
        'over_daily_limit' as reason,
        cast(day_hours as {{ type_text() }}) || ' h logged by ' || employee_id || ' on '
        || cast(work_date as {{ type_text() }}) as detail
    from worker_days
    where day_hours > {{ firm_threshold('daily_hours_limit') }}

),

expired_contract as (

    select
        source_system,
        source_id,
        'expired_contract' as reason,
        'work on ' || cast(work_date as {{ type_text() }}) || ', contract ' || contract_source_id
        || ' ended ' || cast(contract_end_date as {{ type_text() }}) as detail
    from known
    where is_billable and is_project_active and contract_end_date < work_date

),

negative_hours as (

    select
        source_system,
        source_id,
        'negative_hours' as reason,
        cast(hours as {{ type_text() }}) || ' h on '
        || cast(work_date as {{ type_text() }}) as detail
    from entries
    where hours < 0

),

unknown_approval_status as (

    select
        source_system,
        source_id,
        'unknown_approval_status' as reason,
        'approval status ' || approval_status || ' is not one of unsubmitted, submitted, '
        || 'approved, rejected' as detail
    from entries
    where approval_status not in ('unsubmitted', 'submitted', 'approved', 'rejected')

),

missing_tax_rule as (

    select
        source_system,
        source_id,
        'missing_tax_rule' as reason,
        'no tax rule for legal entity ' || contract_legal_entity || ' and client country '
        || client_country as detail
    from known
    where
        is_billable
        and contract_legal_entity is not null
        and client_country is not null
        and tax_code is null

),

unmatched_worker as (

    select
        source_system,
        source_id,
        'unmatched_worker' as reason,
        'person ' || person_source_id || ' matches no HR worker' as detail
    from entries
    where has_people_master and employee_id is null

),

missing_fx_rate as (

    {%- set to_reporting = {
        'from': 'rate_currency',
        'to': "'" ~ var('reporting_currency') ~ "'",
        'rate': 'reporting_fx_rate',
        'needed': 'billable_amount is not null',
    } %}

    -- the billable value in the reporting currency at the work date (macro
    -- missing_fx_rate_exceptions)
    {{ missing_fx_rate_exceptions(
        'entries', ['source_system', 'source_id'], 'work_date', [to_reporting]
    ) }}

),

unioned as (

    select * from unknown_project
    union all
    select * from closed_project
    union all
    select * from task_not_on_project
    union all
    select * from resource_not_assigned
    union all
    select * from missing_rate
    union all
    select * from rate_mismatch
    union all
    select * from duplicate_entry
    union all
    select * from future_dated
    union all
    select * from over_daily_limit
    union all
    select * from expired_contract
    union all
    select * from unmatched_worker
    union all
    select * from negative_hours
    union all
    select * from unknown_approval_status
    union all
    select * from missing_tax_rule
    union all
    select * from missing_fx_rate

)

select
    source_system,
    'time_entries' as source_entity,
    source_id,
    reason,
    detail
from unioned
