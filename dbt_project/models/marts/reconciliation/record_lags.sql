-- The three lags of docs/design.md §4, one row per (record, lag kind), as of the as-of date:
--   time_approval    per time entry:    approved_at - submitted_at (to the second);
--   expense_posting  per expense line:  ERP posted date - report final approval date;
--   invoice_release  per ERP invoice:   released date - ready date, where ready = the later
--                    of the billing period end and the approval date of the last record
--                    the invoice bills (the date its last line became billable).
-- Days are calendar days; business days are Mon-Fri days in (start date, finish date] that
-- are not non-working dates of the record's legal entity (config/business_calendars, macro
-- business_days); with the sample firm's empty calendar, docs/generator.md's ground truth.
-- A record whose clock started by the end of the as-of date but has not stopped is open:
-- it carries its age so far instead of a lag, and breaches its SLA once that age does.
-- Incremental by record: a daily run rebuilds the lags whose inputs may have changed, and
-- every open one (macro record_lags_scope_keys); it keeps the rest.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ stage_incremental_keys(record_lags_scope_keys()) }}",
        "{{ delete_incremental_scope(record_lags_in_scope(incremental_watermark() is none)) }}",
    ],
    post_hook=["{{ refresh_as_of_date() }}", "{{ record_incremental_state() }}"],
) }}

-- depends_on: {{ record_scope_refs() }}
{%- set full = incremental_watermark() is none %}

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

time_entries as {{ cte_not_materialized() }} (

    -- read twice (the approval lags and the invoices' readiness): a table scan reads only
    -- the columns each read needs, cheaper than a materialized copy of the whole fact
    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }}
    where {{ record_lags_in_scope(full, lag_kind="'invoice_release'") }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

line_records as (

    select * from {{ ref('fct_invoice_line_records') }}

),

time_approval as (

    -- The clock runs from the (last) submission to the approval. A rejected entry waits
    -- for its worker, not its approver, so only submitted entries count as open.
    select
        'time_approval' as lag_kind,
        'time_entry' as record_kind,
        time_entries.time_entry_id as record_id,
        time_entries.source_system,
        time_entries.source_id,
        time_entries.correlation_id,
        cast(null as {{ type_text() }}) as document_number,
        time_entries.legal_entity,
        time_entries.client_id,
        time_entries.contract_id,
        time_entries.project_id,
        time_entries.project_code,
        'submitted' as start_event,
        'approved' as finish_event,
        time_entries.submitted_at as started_at,
        case
            when time_entries.is_approved then time_entries.approved_at
        end as finished_at
    from time_entries
    cross join as_of
    where
        {{ record_lags_in_scope(full, lag_kind="'time_approval'") }}
        and time_entries.submitted_at < as_of.as_of_end
        -- an approval after the as-of date leaves the entry waiting on that date
        and time_entries.approval_status in ('submitted', 'approved')

),

expense_posting as (

    -- Every expense line extracted and approved by the as-of date waits for its ERP posting.
    select
        'expense_posting' as lag_kind,
        'expense' as record_kind,
        expenses.expense_id as record_id,
        expenses.source_system,
        expenses.source_id,
        expenses.correlation_id,
        expenses.report_id as document_number,
        expenses.legal_entity,
        expenses.client_id,
        expenses.contract_id,
        expenses.project_id,
        expenses.project_code,
        'approved' as start_event,
        'posted' as finish_event,
        expenses.approved_at as started_at,
        case
            -- the ERP records a posting date, not an instant: midnight of that day
            when expenses.is_posted then cast(expenses.posted_date as timestamp)
        end as finished_at
    from expenses
    cross join as_of
    where
        expenses.approved_at < as_of.as_of_end
        and expenses.batch_date <= as_of.as_of_date

),

record_approvals as (

    select
        time_entries.correlation_id,
        cast(time_entries.approved_at as date) as approval_date
    from time_entries
    union all
    select
        expenses.correlation_id,
        cast(expenses.approved_at as date) as approval_date
    from expenses

),

invoice_readiness as (

    -- the last approval among the records the invoice's lines bill
    select
        invoice_lines.invoice_id,
        max(record_approvals.approval_date) as last_approval_date
    from line_records
    inner join invoice_lines
        on line_records.invoice_line_id = invoice_lines.invoice_line_id
    inner join record_approvals
        on line_records.correlation_id = record_approvals.correlation_id
    -- the invoices the run builds
    where invoice_lines.invoice_id in (select invoices.invoice_id from invoices)
    group by invoice_lines.invoice_id

),

invoice_periods as (

    -- the end of the (monthly) billing period the invoice bills: the floor of its ready date
    select
        invoices.*,
        invoices.billing_period_end_date as period_end_date
    from invoices
    cross join as_of
    where invoices.invoice_date <= as_of.as_of_date

),

invoice_release as (

    select
        'invoice_release' as lag_kind,
        'invoice' as record_kind,
        invoice_periods.invoice_id as record_id,
        invoice_periods.source_system,
        invoice_periods.source_id,
        invoice_periods.correlation_id,
        invoice_periods.invoice_number as document_number,
        invoice_periods.legal_entity,
        invoice_periods.client_id,
        invoice_periods.contract_id,
        cast(null as {{ type_text() }}) as project_id,
        invoice_periods.project_code,
        'ready' as start_event,
        'released' as finish_event,
        cast(
            case
                when invoice_readiness.last_approval_date > invoice_periods.period_end_date
                    then invoice_readiness.last_approval_date
                else invoice_periods.period_end_date
            end as timestamp
        ) as started_at,
        case
            when invoice_periods.is_released then cast(invoice_periods.released_date as timestamp)
        end as finished_at
    from invoice_periods
    left join invoice_readiness
        on invoice_periods.invoice_id = invoice_readiness.invoice_id

),

all_lags as (

    select * from time_approval
    union all
    select * from expense_posting
    union all
    select * from invoice_release

),

slas as (

    {{ sla_thresholds() }}

),

dated as (

    select
        all_lags.*,
        cast(all_lags.started_at as date) as start_date,
        cast(all_lags.finished_at as date) as finish_date,
        all_lags.finished_at is null as is_open,
        as_of.as_of_date,
        cast(slas.sla_business_days as {{ dbt.type_int() }}) as sla_business_days
    from all_lags
    cross join as_of
    inner join slas
        on all_lags.lag_kind = slas.lag_kind

),

measured as (

    {%- set entity = 'dated.legal_entity' %}

    select
        dated.*,
        -- only the time approval has two instants; the ERP's events are dates
        case
            when dated.lag_kind = 'time_approval' and not dated.is_open
                then {{ dbt.datediff('dated.started_at', 'dated.finished_at', 'second') }}
        end as lag_seconds,
        case
            when dated.is_open then null
            -- elapsed days to the second, as the reference script's time approval lag
            when dated.lag_kind = 'time_approval'
                then
                    cast(
                        {{ dbt.datediff('dated.started_at', 'dated.finished_at', 'second') }}
                        as {{ type_double() }}
                    ) / 86400
            else
                cast(
                    {{ dbt.datediff('dated.start_date', 'dated.finish_date', 'day') }}
                    as {{ type_double() }}
                )
        end as lag_days,
        case
            when not dated.is_open
                then {{ business_days('dated.start_date', 'dated.finish_date', entity) }}
        end as lag_business_days,
        case
            when dated.is_open
                then {{ dbt.datediff('dated.start_date', 'dated.as_of_date', 'day') }}
        end as open_age_days,
        case
            when dated.is_open
                then {{ business_days('dated.start_date', 'dated.as_of_date', entity) }}
        end as open_age_business_days
    from dated

),

final as (

    select
        {{ hash_key(['lag_kind', 'correlation_id']) }} as lag_record_id,
        lag_kind,
        record_kind,
        record_id,
        source_system,
        source_id,
        correlation_id,
        document_number,
        legal_entity,
        client_id,
        contract_id,
        project_id,
        project_code,
        start_event,
        finish_event,
        started_at,
        start_date,
        finished_at,
        finish_date,
        as_of_date,
        is_open,
        cast(lag_seconds as bigint) as lag_seconds,
        cast(lag_days as {{ type_double() }}) as lag_days,
        cast(lag_business_days as integer) as lag_business_days,
        cast(open_age_days as integer) as open_age_days,
        cast(open_age_business_days as integer) as open_age_business_days,
        sla_business_days,
        coalesce(
            case
                when is_open then open_age_business_days > sla_business_days
                else lag_business_days > sla_business_days
            end,
            false
        ) as is_sla_breach
    from measured

)

select * from final
