-- One row per state change of a time entry, expense or invoice (docs/design.md §3): submitted,
-- rejected, approved (PSA / Concur audit fields, from every exported version), validated
-- (the current version passes every rule: at its last change, or its SAE batch), invoiced,
-- posted and paid (ERP), deleted (a time entry retired in its PSA). Events after the end of
-- the as-of date have not happened yet and are left out.
-- Billing batches add `batched` events once the write-back lands them in raw.
-- Incremental: a daily run rebuilds the events of expenses and invoices, and of the time
-- entries fct_time_entries rebuilt (worked on or after the cutoff; macros/incremental.sql).

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_incremental_scope(lifecycle_events_from_cutoff(
        incremental_cutoff(with_billing=true, invoiced_entries=ref('fct_time_entries'))
    )) }}",
    post_hook="{{ record_incremental_state() }}",
) }}

-- depends_on: {{ ref('stg_erp__invoices') }}, {{ ref('stg_erp__invoice_lines') }}
-- depends_on: {{ ref('stg_erp_api__invoices') }}, {{ ref('stg_erp_api__invoice_lines') }}
-- depends_on: {{ ref('stg_erp_api__invoice_status') }}
-- depends_on: {{ ref('int_time_entries_rated') }}
{%- set cutoff = incremental_cutoff(
    with_billing=true, invoiced_entries=ref('fct_time_entries')
) %}

with

all_entry_versions as (

    select * from {{ ref('int_time_entry_versions') }}

),

-- entries deleted in their PSA: retired, so not in fct_time_entries; a daily run rebuilds
-- their events with those of the entries it rebuilds
retired_entries as (

    select distinct
        source_system,
        source_id
    from all_entry_versions
    where deleted_at is not null

),

-- entries held out for an implausible date: no events until the PSA corrects the date
held_out_entries as (

    select
        source_system,
        source_id
    from {{ ref('int_time_entry_date_exceptions') }}

),

entry_versions as (

    select * from all_entry_versions
    where
        (
            {{ entries_from_cutoff(ref('fct_time_entries'), cutoff) }}
            or {{ row_in(
                ['source_system', 'source_id'], 'from retired_entries'
            ) }}
        )
        and {{ row_in(
            ['source_system', 'source_id'], 'from held_out_entries', negate=true
        ) }}

),

entry_events as (

    -- every submission (a rejected entry is resubmitted)
    select
        source_system,
        source_id,
        'submitted' as event_type,
        submitted_at as event_at,
        source_system as event_source
    from entry_versions
    where submitted_at is not null
    group by source_system, source_id, submitted_at
    union all
    -- a rejection is the change of the version that carries it
    select
        source_system,
        source_id,
        'rejected' as event_type,
        updated_at as event_at,
        source_system as event_source
    from entry_versions
    -- (a deletion version repeats the entry's last state: not a rejection)
    where approval_status = 'rejected' and deleted_at is null
    group by source_system, source_id, updated_at
    union all
    select
        source_system,
        source_id,
        'approved' as event_type,
        approved_at as event_at,
        source_system as event_source
    from entry_versions
    where approved_at is not null
    group by source_system, source_id, approved_at
    union all
    -- the deletion in the PSA retires the entry
    select
        source_system,
        source_id,
        'deleted' as event_type,
        min(deleted_at) as event_at,
        source_system as event_source
    from entry_versions
    where deleted_at is not null
    group by source_system, source_id

),

validated_entries as (

    -- the current version (as of its last change) passes every rule
    select
        source_system,
        source_id,
        'validated' as event_type,
        updated_at as event_at,
        'd2b' as event_source
    from {{ ref('fct_time_entries') }}
    where is_valid and {{ on_or_after_cutoff('work_date', cutoff) }}

),

billed as (

    -- records the warehouse knows (assert_billed_records_are_known flags the others)
    select * from {{ ref('int_invoice_line_records') }}
    where record_source_id is not null

),

billing_events as (

    select
        record_kind,
        record_system as source_system,
        record_source_id as source_id,
        'invoiced' as event_type,
        min(invoice_created_at) as event_at
    from billed
    group by record_kind, record_system, record_source_id
    union all
    select
        record_kind,
        record_system as source_system,
        record_source_id as source_id,
        'posted' as event_type,
        cast(min(released_date) as timestamp) as event_at
    from billed
    where record_kind = 'time_entry' and released_date is not null
    group by record_kind, record_system, record_source_id
    union all
    select
        record_kind,
        record_system as source_system,
        record_source_id as source_id,
        'paid' as event_type,
        cast(min(paid_date) as timestamp) as event_at
    from billed
    where record_kind = 'time_entry' and is_paid
    group by record_kind, record_system, record_source_id

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

expense_events as (

    select
        source_id,
        'submitted' as event_type,
        submitted_at as event_at,
        'concur' as event_source
    from expenses
    where submitted_at is not null
    union all
    select
        source_id,
        'approved' as event_type,
        approved_at as event_at,
        'concur' as event_source
    from expenses
    where approved_at is not null
    union all
    -- posted to the general ledger by the ERP's expense journal
    select
        source_id,
        'posted' as event_type,
        cast(posted_date as timestamp) as event_at,
        'erp' as event_source
    from expenses
    where posted_date is not null
    union all
    -- the extracted entry (as of its SAE batch) passes every rule
    select
        source_id,
        'validated' as event_type,
        cast(batch_date as timestamp) as event_at,
        'd2b' as event_source
    from expenses
    where is_valid

),

invoices as (

    select * from {{ ref('int_invoices_enriched') }}

),

invoice_events as (

    select
        invoice_source_id as source_id,
        'invoiced' as event_type,
        created_at as event_at
    from invoices
    where created_at is not null
    union all
    select
        invoice_source_id as source_id,
        'posted' as event_type,
        cast(released_date as timestamp) as event_at
    from invoices
    where released_date is not null
    union all
    select
        invoice_source_id as source_id,
        'paid' as event_type,
        cast(paid_date as timestamp) as event_at
    from invoices
    where status = 'Paid In Full' and paid_date is not null

),

-- frozen into a Deliver-to-Bill billing batch (ops.erp_outbox), by correlation id
batched_events as (

    select
        records.record_kind,
        records.record_system as source_system,
        records.record_source_id as source_id,
        'batched' as event_type,
        outbox.frozen_at as event_at
    from {{ ref('stg_ops__erp_outbox_correlations') }} as frozen
    inner join {{ ref('stg_ops__erp_outbox') }} as outbox
        on frozen.batch_key = outbox.batch_key
    inner join {{ ref('int_billable_record_correlations') }} as records
        on frozen.correlation_id = records.correlation_id

),

unioned as (

    select
        'time_entry' as record_kind,
        source_system,
        source_id,
        event_type,
        event_at,
        event_source
    from entry_events
    union all
    select
        'time_entry' as record_kind,
        source_system,
        source_id,
        event_type,
        event_at,
        event_source
    from validated_entries
    union all
    select
        record_kind,
        source_system,
        source_id,
        event_type,
        event_at,
        'erp' as event_source
    from billing_events
    union all
    select
        record_kind,
        source_system,
        source_id,
        event_type,
        event_at,
        'd2b' as event_source
    from batched_events
    union all
    select
        'expense' as record_kind,
        'concur' as source_system,
        source_id,
        event_type,
        event_at,
        event_source
    from expense_events
    union all
    select
        'invoice' as record_kind,
        'erp' as source_system,
        source_id,
        event_type,
        event_at,
        'erp' as event_source
    from invoice_events

),

final as (

    select
        {{ correlation_id('source_system', 'record_kind', 'source_id') }} as correlation_id,
        record_kind,
        source_system,
        source_id,
        event_type,
        event_at,
        event_source
    from unioned
    where event_at < {{ as_of_end() }} and {{ lifecycle_events_from_cutoff(cutoff) }}

)

select * from final
