-- Fails if project_financials_monthly does not hold exactly what the facts hold:
--   * per project: hours, billable hours and value, invoiced hours and value at the
--     resolved rate of fct_time_entries (known by the as-of date), in the entries' currency;
--   * per currency: the invoiced value attributed to entries = the amounts of the ERP
--     labour lines released by the as-of date that bill a time entry with hours or value,
--     in the line currency and the reporting currency (the pro-rata split neither loses nor
--     invents a cent);
--   * every released labour line billing no such entry (firm data: a line typed in the ERP)
--     is on an invoice with an unattributed_labour_line exception, and no other invoice is.

-- an asset check of project_financials_monthly in Dagster (the test reads more than one model)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'project_financials_monthly'}},
}) }}

with

entries as (

    select
        source_system,
        project_source_id,
        count(distinct currency) as currencies,
        max(currency) as currency,
        sum(hours) as hours,
        sum(case when is_approved and is_billable and is_valid then hours else 0 end)
            as billable_hours,
        sum(case when is_approved and is_billable and is_valid then billable_amount end)
            as billable_value,
        sum(case when is_invoiced then hours else 0 end) as invoiced_hours,
        sum(case when is_invoiced then billable_amount end) as invoiced_value_at_resolved_rate
    from {{ ref('fct_time_entries') }}
    where
        work_date <= {{ as_of_date() }}
        and (created_at is null or created_at < {{ as_of_end() }})
    group by source_system, project_source_id

),

financials as (

    select
        source_system,
        project_source_id,
        count(distinct currency) as currencies,
        max(currency) as currency,
        sum(hours) as hours,
        sum(billable_hours) as billable_hours,
        sum(billable_value) as billable_value,
        sum(invoiced_hours) as invoiced_hours,
        sum(invoiced_value_at_resolved_rate) as invoiced_value_at_resolved_rate
    from {{ ref('project_financials_monthly') }}
    group by source_system, project_source_id

),

project_differences as (

    select
        'project ' || coalesce(entries.source_system, financials.source_system) || ':'
        || coalesce(entries.project_source_id, financials.project_source_id) as subject
    from entries
    full outer join financials
        on
            entries.source_system = financials.source_system
            and entries.project_source_id = financials.project_source_id
    where
        -- a project with expenses only has no entries
        (entries.source_system is null and financials.hours != 0)
        or financials.source_system is null
        -- one currency per project (none while its master data has not been delivered)
        or financials.currencies > 1
        or (entries.currencies = 1 and entries.currency != financials.currency)
        or entries.hours != financials.hours
        or entries.billable_hours != financials.billable_hours
        or coalesce(entries.billable_value, 0) != financials.billable_value
        or entries.invoiced_hours != financials.invoiced_hours
        or coalesce(entries.invoiced_value_at_resolved_rate, 0)
        != financials.invoiced_value_at_resolved_rate

),

labour_lines as (

    -- released labour lines, each with the time entries it bills (recomputed from the facts)
    select
        invoice_lines.invoice_line_id,
        max(invoice_lines.invoice_source_id) as invoice_source_id,
        max(invoice_lines.currency) as currency,
        max(invoice_lines.amount) as amount,
        max(invoice_lines.amount_reporting) as amount_reporting,
        coalesce(sum(entries.billable_amount), 0) > 0
        or coalesce(sum(entries.hours), 0) != 0 as bills_time_entries
    from {{ ref('fct_invoice_lines') }} as invoice_lines
    left join {{ ref('fct_invoice_line_records') }} as line_records
        on invoice_lines.invoice_line_id = line_records.invoice_line_id
    left join {{ ref('fct_time_entries') }} as entries
        on line_records.correlation_id = entries.correlation_id
    where invoice_lines.is_released and invoice_lines.line_kind = 'labour'
    group by invoice_lines.invoice_line_id

),

lines as (

    select
        currency,
        sum(amount) as amount,
        sum(amount_reporting) as amount_reporting
    from labour_lines
    where bills_time_entries
    group by currency

),

unattributed_invoices as (

    select distinct invoice_source_id from labour_lines
    where not bills_time_entries

),

excepted_invoices as (

    select source_id as invoice_source_id from {{ ref('billing_exceptions') }}
    where source_entity = 'invoices' and reason = 'unattributed_labour_line'

),

unattributed_differences as (

    select
        'unattributed labour line on invoice '
        || coalesce(unattributed_invoices.invoice_source_id, excepted_invoices.invoice_source_id)
            as subject
    from unattributed_invoices
    full outer join excepted_invoices
        on unattributed_invoices.invoice_source_id = excepted_invoices.invoice_source_id
    where
        unattributed_invoices.invoice_source_id is null
        or excepted_invoices.invoice_source_id is null

),

attributed as (

    select
        currency,
        sum(invoiced_value) as amount,
        sum(invoiced_value_reporting) as amount_reporting
    from {{ ref('project_financials_monthly') }}
    group by currency
    having sum(invoiced_value) != 0 or sum(invoiced_value_reporting) != 0

),

currency_differences as (

    select 'currency ' || coalesce(lines.currency, attributed.currency) as subject
    from lines
    full outer join attributed
        on lines.currency = attributed.currency
    where
        lines.amount is distinct from attributed.amount
        or lines.amount_reporting is distinct from attributed.amount_reporting

)

select * from project_differences
union all
select * from currency_differences
union all
select * from unattributed_differences
