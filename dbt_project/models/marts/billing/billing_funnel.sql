-- The deliver-to-bill funnel (docs/design.md §4) per project and work month, as of the as-of date:
-- hours and value of time entries delivered (logged), approved, billable (approved,
-- billable, valid), batched (billable and frozen into a billing batch or on an ERP invoice
-- line), invoiced (on an ERP invoice line released by the as-of date) and paid. Value =
-- hours x resolved bill rate, in the contract currency and the reporting currency; hours
-- without a resolved rate count in hours, not in value.

with

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

staged as (

    select
        project_id,
        source_system,
        project_source_id,
        project_code,
        contract_id,
        client_id,
        legal_entity,
        currency,
        {{ dbt.date_trunc('month', 'work_date') }} as work_month,
        hours,
        billable_amount,
        billable_amount_reporting,
        is_approved,
        is_billable_stage,
        is_billable_stage and is_batched as is_batched_stage,
        is_invoiced,
        is_paid
    from time_entries

),

{%- set stages = [
    ('delivered', 'true'),
    ('approved', 'is_approved'),
    ('billable', 'is_billable_stage'),
    ('batched', 'is_batched_stage'),
    ('invoiced', 'is_invoiced'),
    ('paid', 'is_paid'),
] %}

final as (

    select
        source_system,
        project_source_id,
        max(project_id) as project_id,
        max(project_code) as project_code,
        max(contract_id) as contract_id,
        max(client_id) as client_id,
        max(legal_entity) as legal_entity,
        max(currency) as currency,
        cast(work_month as date) as work_month,
        {{ as_of_date() }} as as_of_date,
        {%- for stage, condition in stages %}
            cast(sum(case when {{ condition }} then hours else 0 end) as decimal(18, 4))
                as {{ stage }}_hours,
            cast(
                sum(case when {{ condition }} then billable_amount else 0 end) as decimal(18, 2)
            ) as {{ stage }}_value,
            cast(
                sum(case when {{ condition }} then billable_amount_reporting else 0 end)
                as decimal(18, 2)
            ) as {{ stage }}_value_reporting,
        {%- endfor %}
        count(*) as time_entry_count
    from staged
    group by source_system, project_source_id, work_month

)

select * from final
