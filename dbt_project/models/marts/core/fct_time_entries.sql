-- One row per time entry of any PSA (latest version), keyed by a surrogate key, with the
-- correlation_id that follows it to billing batches and ERP invoice lines. Carries its
-- identity (resource, project, contract, client), resolved rate and value, validation
-- outcome and whether a posted ERP invoice line bills it at the as-of date.
-- Incremental: a daily run rebuilds the entries worked on or after the cutoff, which also
-- reaches back to the entries on ERP invoices landed since (macros/incremental.sql).

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_incremental_scope(
        on_or_after_cutoff('work_date', incremental_cutoff(with_billing=true))
    ) }}",
    post_hook="{{ record_incremental_state() }}",
) }}

-- depends_on: {{ ref('int_time_entry_versions') }}
-- depends_on: {{ ref('stg_erp__invoices') }}, {{ ref('stg_erp__invoice_lines') }}
-- depends_on: {{ ref('stg_erp_api__invoices') }}, {{ ref('stg_erp_api__invoice_lines') }}
-- depends_on: {{ ref('stg_erp_api__invoice_status') }}
{%- set cutoff = incremental_cutoff(with_billing=true) %}

with

entries as (

    select * from {{ ref('int_time_entries_rated') }}
    where {{ on_or_after_cutoff('work_date', cutoff) }}

),

exceptions as (

    select
        source_system,
        source_id,
        count(*) as exception_count,
        {{ dbt.listagg('reason', "', '", 'order by reason') }} as exception_reasons
    from {{ ref('int_time_entry_exceptions') }}
    group by source_system, source_id

),

contract_exceptions as (

    select distinct source_id as contract_source_id
    from {{ ref('int_contract_exceptions') }}

),

invoiced as (

    select
        record_system,
        record_source_id,
        invoice_line_source_id,
        invoice_source_id,
        released_date,
        is_paid,
        row_number() over (
            partition by record_system, record_source_id
            order by released_date, invoice_line_source_id
        ) as billing_rank
    from {{ ref('int_invoice_line_records') }}
    where record_kind = 'time_entry' and is_released

),

-- on any ERP invoice line known at the as-of date, released or not (a draft invoice has
-- batched the entry: it must not be billed again)
on_invoice_lines as (

    select distinct
        record_system,
        record_source_id
    from {{ ref('int_invoice_line_records') }}
    where record_kind = 'time_entry'

),

outbox as (

    select
        correlation_id,
        batch_key
    from {{ ref('stg_ops__erp_outbox_correlations') }}

),

final as (

    select
        {{ surrogate_key('entries.source_system', 'entries.source_id') }} as time_entry_id,
        entries.source_system,
        entries.source_id,
        {{ correlation_id('entries.source_system', "'time_entry'", 'entries.source_id') }}
            as correlation_id,

        -- who
        {{ surrogate_key("'hris'", 'entries.employee_id') }} as resource_id,
        entries.employee_id,
        entries.person_source_id,
        entries.worker_role,

        -- what project, contract, client, legal entity
        entries.project_id,
        entries.project_source_id,
        entries.project_code,
        {{ surrogate_key("'salesforce'", 'entries.contract_source_id') }} as contract_id,
        entries.contract_source_id,
        {{ surrogate_key("'salesforce'", 'entries.account_source_id') }} as client_id,
        entries.account_source_id,
        entries.legal_entity,
        entries.task_ref as task_source_id,
        entries.task_name,

        -- the work
        entries.work_date,
        cast(entries.hours as decimal(12, 4)) as hours,
        entries.notes,
        entries.is_billable,

        -- rate and value (contract currency, then reporting currency)
        cast(entries.psa_bill_rate as decimal(18, 4)) as psa_bill_rate,
        entries.psa_currency,
        entries.resolved_bill_rate,
        entries.rate_source,
        entries.rate_card_line_source_id,
        entries.rate_currency as currency,
        entries.billable_amount,
        '{{ var("reporting_currency") }}' as reporting_currency,
        entries.billable_amount_reporting,
        entries.tax_code,
        cast(entries.tax_rate_percent as decimal(8, 4)) as tax_rate_percent,

        -- approval
        entries.approval_status,
        coalesce(
            entries.approval_status = 'approved' and entries.approved_at < {{ as_of_end() }},
            false
        ) as is_approved,
        entries.submitted_at,
        entries.approved_at,
        entries.created_at,
        entries.updated_at,

        -- validation
        exceptions.source_id is null as is_valid,
        coalesce(exceptions.exception_count, 0) as exception_count,
        exceptions.exception_reasons,
        contract_exceptions.contract_source_id is not null as has_contract_exception,

        -- batching: frozen into a Deliver-to-Bill billing batch, or on an ERP invoice line
        outbox.batch_key,
        (outbox.batch_key is not null or on_invoice_lines.record_source_id is not null)
            as is_batched,

        -- invoicing (ERP invoices released by the as-of date)
        invoiced.record_source_id is not null as is_invoiced,
        coalesce(invoiced.is_paid, false) as is_paid,
        {{ surrogate_key("'erp'", 'invoiced.invoice_source_id') }} as invoice_id,
        {{ surrogate_key("'erp'", 'invoiced.invoice_line_source_id') }} as invoice_line_id,
        invoiced.released_date as invoiced_date,

        -- lineage
        entries.version_count,
        entries.first_ingested_at,
        entries.ingested_at,
        entries.source_file,
        entries.source_row_number

    from entries
    left join exceptions
        on
            entries.source_system = exceptions.source_system
            and entries.source_id = exceptions.source_id
    left join contract_exceptions
        on entries.contract_source_id = contract_exceptions.contract_source_id
    left join invoiced
        on
            entries.source_system = invoiced.record_system
            and entries.source_id = invoiced.record_source_id
            and invoiced.billing_rank = 1
    left join on_invoice_lines
        on
            entries.source_system = on_invoice_lines.record_system
            and entries.source_id = on_invoice_lines.record_source_id
    left join outbox
        on
            {{ correlation_id('entries.source_system', "'time_entry'", 'entries.source_id') }}
            = outbox.correlation_id

),

-- the predicates the billing metrics build on, named once: WIP, the funnel, leakage, batch
-- candidates, utilization and project financials read these instead of spelling them again
with_stages as (

    select
        *,
        is_approved and is_billable and is_valid as is_billable_stage,
        is_approved and is_billable and is_valid and not is_invoiced as is_unbilled_wip
    from final

)

select * from with_stages
