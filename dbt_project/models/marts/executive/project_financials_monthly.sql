-- Project financials per project, work month and the workers' practice, region and legal
-- entity (docs/design.md §4), so realization and margin can be cut by project, client, practice,
-- region and legal entity, in the project's contract currency and the reporting currency:
--   hours: every time entry known by the as-of date (the time people spent);
--   billable: the funnel's billable hours (approved, billable flag, valid) and their value
--     at the resolved bill rate;
--   invoiced: hours on ERP invoice lines released by the as-of date; invoiced value = the
--     labour line amounts attributed to the time entries each line bills, pro rata to their
--     value at the resolved rate (to the cent, the remainder by largest fraction);
--   realization = invoiced value ÷ (invoiced hours x resolved rate);
--   cost = hours x the worker's cost rate (converted from the employing entity's currency
--     at the work date) + non-reimbursable expenses allocated to the project (converted at
--     the transaction date);
--   recognized revenue: each contract's month of contract_revenue_monthly (as delivered,
--     by completion or straight-line) split over the projects and workers of its billable
--     work that month, pro rata to their value at the resolved rate (else their hours, else
--     the contract's projects equally: a row without worker), in whole cents that add up to
--     the contract's figure, in the contract and the reporting currency (the month's last
--     rate, converted once upstream);
--   margin = recognized revenue - cost, both in the work month. Re-billed expenses pass
--     through and count on neither side. The invoiced value is the work billed (what is
--     still to bill: billable_value minus invoiced_value_at_resolved_rate).
-- Incremental by month: a daily run rebuilds every month from the earliest one whose figures
-- may have changed (macro project_financials_cutoff), and keeps the months before it.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_incremental_scope(
        on_or_after_cutoff('month_start_date', project_financials_cutoff())
    ) }}",
    post_hook=["{{ refresh_as_of_date() }}", "{{ record_incremental_state() }}"],
) }}

-- depends_on: {{ record_scope_refs() }}
{%- set cutoff = project_financials_cutoff() %}

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

invoice_line_records as (

    select * from {{ ref('fct_invoice_line_records') }}

),

resources as (

    select * from {{ ref('dim_resources') }}

),

projects as (

    select * from {{ ref('dim_projects') }}

),

contracts as (

    select * from {{ ref('dim_contracts') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

legal_entities as (

    select * from {{ ref('dim_legal_entities') }}

),

fx_rates as (

    select
        currency,
        rate_date,
        base_per_unit
    from {{ ref('int_fx_rates_daily') }}

),

-- 1. the project: its contract (billing method, currency) and client

project_terms as (

    select
        projects.project_id,
        projects.source_system,
        projects.source_id,
        projects.project_code,
        projects.project_name,
        projects.is_internal,
        projects.is_billable,
        projects.legal_entity,
        projects.contract_id,
        contracts.source_id as contract_source_id,
        contracts.billing_method,
        projects.client_id,
        clients.client_name,
        -- the contract's currency; a project without contract keeps its PSA currency
        coalesce(contracts.currency, projects.currency) as currency
    from projects
    left join contracts
        on projects.contract_id = contracts.contract_id
    left join clients
        on projects.client_id = clients.client_id

),

-- 2. each time entry known by the as-of date, with its worker's cost

known_entries as (

    select
        time_entries.source_system,
        time_entries.project_source_id,
        time_entries.project_id,
        time_entries.project_code,
        time_entries.resource_id,
        -- the contract whose recognized revenue the entry's work carries (as in
        -- contract_revenue_monthly)
        time_entries.contract_source_id,
        time_entries.work_date,
        time_entries.hours,
        time_entries.is_billable_stage as is_billable_hour,
        time_entries.is_invoiced,
        time_entries.billable_amount,
        time_entries.billable_amount_reporting,
        -- an entry on a project missing from the PSA's export has no contract: its
        -- legal entity's currency stands in
        coalesce(project_terms.currency, entry_entities.currency) as currency,
        -- the worker's cost in the employing entity's currency (none without a resource)
        {{ exact_money('time_entries.hours * resources.cost_rate') }}
            as cost_in_cost_currency,
        resources.cost_rate_currency
    from time_entries
    cross join as_of
    left join project_terms
        on time_entries.project_id = project_terms.project_id
    left join legal_entities as entry_entities
        on time_entries.legal_entity = entry_entities.legal_entity
    left join resources
        on time_entries.resource_id = resources.resource_id
    where
        time_entries.work_date <= as_of.as_of_date
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)
        and {{ on_or_after_cutoff('time_entries.work_date', cutoff) }}

),

-- 3. invoiced value: each released labour line's amount split over the entries it bills

billed_entries as (

    -- every entry a released labour line bills, known by the as-of date or not (all of
    -- them weigh in the split), with what the facts below group it by
    select
        invoice_lines.invoice_line_id,
        invoice_line_records.correlation_id,
        invoice_lines.amount,
        invoice_lines.amount_reporting,
        -- weights in integer cents (value at the resolved rate), or in 1/10,000 h for a
        -- line whose entries carry no value
        cast(coalesce(time_entries.billable_amount, 0) * 100 as bigint) as value_weight,
        cast(time_entries.hours * 10000 as bigint) as hours_weight,
        time_entries.source_system,
        time_entries.project_source_id,
        time_entries.resource_id,
        time_entries.work_date,
        time_entries.work_date <= as_of.as_of_date
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)
            as is_known
    from invoice_lines
    inner join invoice_line_records
        on invoice_lines.invoice_line_id = invoice_line_records.invoice_line_id
    inner join time_entries
        on invoice_line_records.correlation_id = time_entries.correlation_id
    cross join as_of
    where
        invoice_lines.is_released
        and invoice_lines.line_kind = 'labour'
        -- the lines of the months rebuilt, with all their entries (each weighs in the split)
        and {{ bills_work_from_cutoff(
            'invoice_lines.invoice_line_id', 'invoice_line_records', 'time_entries', cutoff
        ) }}

),

weighted as (

    -- a line splits by value when its entries carry any, else by hours (window sums over
    -- the line, in one pass)
    select
        *,
        cast(abs(amount) * 100 as {{ type_wide_integer() }}) as line_cents,
        cast(abs(amount_reporting) * 100 as {{ type_wide_integer() }}) as line_reporting_cents,
        case
            when sum(value_weight) over (partition by invoice_line_id) > 0 then value_weight
            else hours_weight
        end as weight,
        case
            when sum(value_weight) over (partition by invoice_line_id) > 0
                then sum(value_weight) over (partition by invoice_line_id)
            else sum(hours_weight) over (partition by invoice_line_id)
        end as total_weight
    from billed_entries

),

shares as (

    -- the floor of each share in cents and the fraction that decides who gets the cents left
    -- (macros/cent_split.sql)
    select
        *,
        {{ cent_share_floors('line_cents', 'line_reporting_cents') }}
    from weighted
    -- a line whose entries carry neither value nor hours splits over none: it is an
    -- unattributed_labour_line exception (int_invoice_exceptions), not a division by zero
    where total_weight != 0

),

ranked_shares as (

    select
        *,
        {{ cent_share_ranks(
            'line_cents', 'line_reporting_cents', 'invoice_line_id', 'correlation_id asc'
        ) }}
    from shares

),

-- 4. one fact per entry, per share of an invoice line in an entry and per
--    non-reimbursable expense, at the reporting grain

entry_facts as (

    select
        known_entries.source_system,
        known_entries.project_source_id,
        known_entries.project_id,
        known_entries.project_code,
        known_entries.currency,
        known_entries.resource_id,
        cast({{ dbt.date_trunc('month', 'known_entries.work_date') }} as date)
            as month_start_date,
        known_entries.hours,
        case when known_entries.is_billable_hour then known_entries.hours else 0 end
            as billable_hours,
        case when known_entries.is_billable_hour then known_entries.billable_amount end
            as billable_value,
        case
            when known_entries.is_billable_hour then known_entries.billable_amount_reporting
        end as billable_value_reporting,
        case when known_entries.is_invoiced then known_entries.hours else 0 end
            as invoiced_hours,
        cast(null as decimal(18, 2)) as invoiced_value,
        cast(null as decimal(18, 2)) as invoiced_value_reporting,
        case when known_entries.is_invoiced then known_entries.billable_amount end
            as invoiced_value_at_resolved_rate,
        case when known_entries.is_invoiced then known_entries.billable_amount_reporting end
            as invoiced_value_at_resolved_rate_reporting,
        {{ convert_exact_money(
            'known_entries.cost_in_cost_currency',
            cross_rate('cost_fx.base_per_unit', 'project_fx.base_per_unit')
        ) }} as labour_cost,
        {{ convert_exact_money(
            'known_entries.cost_in_cost_currency',
            cross_rate('cost_fx.base_per_unit', 'reporting_fx.base_per_unit')
        ) }} as labour_cost_reporting,
        cast(null as decimal(18, 2)) as expense_cost,
        cast(null as decimal(18, 2)) as expense_cost_reporting,
        cast(null as decimal(18, 2)) as recognized_revenue,
        cast(null as decimal(18, 2)) as recognized_revenue_reporting
    from known_entries
    left join fx_rates as cost_fx
        on
            known_entries.cost_rate_currency = cost_fx.currency
            and known_entries.work_date = cost_fx.rate_date
    left join fx_rates as project_fx
        on
            known_entries.currency = project_fx.currency
            and known_entries.work_date = project_fx.rate_date
    left join fx_rates as reporting_fx
        on
            reporting_fx.currency = '{{ var("reporting_currency") }}'
            and known_entries.work_date = reporting_fx.rate_date

),

invoiced_facts as (

    -- an entry's share of each line that bills it, as a fact of the entry's group: the
    -- group sums the shares directly (decimal sums are exact), so they need no join back
    -- to the entries; cents back to money by multiplying (a decimal division would be a
    -- float division)
    select
        source_system,
        project_source_id,
        cast(null as {{ type_text() }}) as project_id,
        cast(null as {{ type_text() }}) as project_code,
        cast(null as {{ type_text() }}) as currency,
        resource_id,
        cast({{ dbt.date_trunc('month', 'work_date') }} as date) as month_start_date,
        cast(null as decimal(12, 4)) as hours,
        cast(null as decimal(12, 4)) as billable_hours,
        cast(null as decimal(18, 2)) as billable_value,
        cast(null as decimal(18, 2)) as billable_value_reporting,
        cast(null as decimal(12, 4)) as invoiced_hours,
        cast({{ cent_share('amount') }} as decimal(18, 0)) * cast(0.01 as decimal(3, 2))
            as invoiced_value,
        cast({{ cent_share('amount_reporting', 'reporting_') }} as decimal(18, 0))
        * cast(0.01 as decimal(3, 2)) as invoiced_value_reporting,
        cast(null as decimal(18, 2)) as invoiced_value_at_resolved_rate,
        cast(null as decimal(18, 2)) as invoiced_value_at_resolved_rate_reporting,
        cast(null as decimal(18, 2)) as labour_cost,
        cast(null as decimal(18, 2)) as labour_cost_reporting,
        cast(null as decimal(18, 2)) as expense_cost,
        cast(null as decimal(18, 2)) as expense_cost_reporting,
        cast(null as decimal(18, 2)) as recognized_revenue,
        cast(null as decimal(18, 2)) as recognized_revenue_reporting
    from ranked_shares
    where is_known and {{ on_or_after_cutoff('work_date', cutoff) }}

),

expense_facts as (

    -- non-reimbursable spend allocated to a project, extracted by the as-of date; spend
    -- without a project is overhead, outside project margin
    select
        project_terms.source_system,
        project_terms.source_id as project_source_id,
        project_terms.project_id,
        project_terms.project_code,
        project_terms.currency,
        expenses.resource_id,
        cast({{ dbt.date_trunc('month', 'expenses.transaction_date') }} as date)
            as month_start_date,
        cast(0 as decimal(12, 4)) as hours,
        cast(0 as decimal(12, 4)) as billable_hours,
        cast(null as decimal(18, 2)) as billable_value,
        cast(null as decimal(18, 2)) as billable_value_reporting,
        cast(0 as decimal(12, 4)) as invoiced_hours,
        cast(null as decimal(18, 2)) as invoiced_value,
        cast(null as decimal(18, 2)) as invoiced_value_reporting,
        cast(null as decimal(18, 2)) as invoiced_value_at_resolved_rate,
        cast(null as decimal(18, 2)) as invoiced_value_at_resolved_rate_reporting,
        cast(null as decimal(18, 2)) as labour_cost,
        cast(null as decimal(18, 2)) as labour_cost_reporting,
        {{ convert_money(
            'expenses.posted_amount',
            cross_rate('spend_fx.base_per_unit', 'project_fx.base_per_unit')
        ) }} as expense_cost,
        expenses.posted_amount_reporting as expense_cost_reporting,
        cast(null as decimal(18, 2)) as recognized_revenue,
        cast(null as decimal(18, 2)) as recognized_revenue_reporting
    from expenses
    cross join as_of
    inner join project_terms
        on expenses.project_id = project_terms.project_id
    left join fx_rates as spend_fx
        on
            expenses.reimbursement_currency = spend_fx.currency
            and expenses.transaction_date = spend_fx.rate_date
    left join fx_rates as project_fx
        on
            project_terms.currency = project_fx.currency
            and expenses.transaction_date = project_fx.rate_date
    where
        -- a personal line is the employee's own money, no cost of the project
        not expenses.is_billable
        and not expenses.is_personal
        and expenses.batch_date <= as_of.as_of_date
        and {{ on_or_after_cutoff('expenses.transaction_date', cutoff) }}

),

-- 5. recognized revenue: each contract's month (contract_revenue_monthly) split over the
--    projects and workers whose billable work it recognizes

contract_revenue as (

    -- a month's recognized revenue, in the reporting currency at the month's last rate (the
    -- as-of date's in the as-of month)
    select
        contract_source_id,
        month_start_date,
        recognized_revenue,
        recognized_revenue_reporting
    from {{ ref('contract_revenue_monthly') }}
    where
        recognized_revenue != 0
        and {{ on_or_after_cutoff('month_start_date', cutoff) }}

),

recognition_basis as (

    -- what a contract's month splits over: its billable work by project and worker, in
    -- integer cents at the resolved rate and in 1/10,000 h; and each project of the
    -- contract with weight one, for a month without billable work (a retainer's)
    select
        known_entries.contract_source_id,
        cast({{ dbt.date_trunc('month', 'known_entries.work_date') }} as date)
            as month_start_date,
        known_entries.source_system,
        known_entries.project_source_id,
        max(known_entries.project_id) as project_id,
        max(known_entries.project_code) as project_code,
        max(known_entries.currency) as currency,
        known_entries.resource_id,
        greatest(cast(sum(coalesce(known_entries.billable_amount, 0)) * 100 as bigint), 0)
            as value_weight,
        greatest(cast(sum(known_entries.hours) * 10000 as bigint), 0) as hours_weight,
        0 as unit_weight
    from known_entries
    where known_entries.is_billable_hour and known_entries.contract_source_id is not null
    group by
        known_entries.contract_source_id,
        cast({{ dbt.date_trunc('month', 'known_entries.work_date') }} as date),
        known_entries.source_system,
        known_entries.project_source_id,
        known_entries.resource_id
    union all
    select
        contract_revenue.contract_source_id,
        contract_revenue.month_start_date,
        project_terms.source_system,
        project_terms.source_id as project_source_id,
        project_terms.project_id,
        project_terms.project_code,
        project_terms.currency,
        cast(null as {{ type_text() }}) as resource_id,
        0 as value_weight,
        0 as hours_weight,
        1 as unit_weight
    from contract_revenue
    inner join project_terms
        on contract_revenue.contract_source_id = project_terms.contract_source_id

),

recognition_weighted as (

    -- by value when the month's work carries any, else by hours, else the projects equally
    select
        contract_revenue.recognized_revenue,
        contract_revenue.recognized_revenue_reporting,
        recognition_basis.*,
        cast(abs(contract_revenue.recognized_revenue) * 100 as {{ type_wide_integer() }})
            as revenue_cents,
        cast(abs(contract_revenue.recognized_revenue_reporting) * 100 as {{ type_wide_integer() }})
            as revenue_reporting_cents,
        case
            when sum(recognition_basis.value_weight) over contract_month > 0
                then recognition_basis.value_weight
            when sum(recognition_basis.hours_weight) over contract_month > 0
                then recognition_basis.hours_weight
            else recognition_basis.unit_weight
        end as weight,
        case
            when sum(recognition_basis.value_weight) over contract_month > 0
                then sum(recognition_basis.value_weight) over contract_month
            when sum(recognition_basis.hours_weight) over contract_month > 0
                then sum(recognition_basis.hours_weight) over contract_month
            else sum(recognition_basis.unit_weight) over contract_month
        end as total_weight
    from contract_revenue
    inner join recognition_basis
        on
            contract_revenue.contract_source_id = recognition_basis.contract_source_id
            and contract_revenue.month_start_date = recognition_basis.month_start_date
    window contract_month as (
        partition by recognition_basis.contract_source_id, recognition_basis.month_start_date
    )

),

recognition_shares as (

    -- in whole cents, as the invoice lines above: floors, then the cents left to the largest
    -- fractions (ties: PSA, project, worker), so the shares add up to the contract's figure
    select
        *,
        {{ cent_share_floors('revenue_cents', 'revenue_reporting_cents') }}
    from recognition_weighted
    where weight > 0

),

recognition_ranked as (

    select
        *,
        {{ cent_share_ranks(
            'revenue_cents',
            'revenue_reporting_cents',
            'contract_source_id, month_start_date',
            'source_system asc, project_source_id asc, resource_id asc',
        ) }}
    from recognition_shares

),

recognized_facts as (

    select
        source_system,
        project_source_id,
        project_id,
        project_code,
        currency,
        resource_id,
        month_start_date,
        cast(0 as decimal(12, 4)) as hours,
        cast(0 as decimal(12, 4)) as billable_hours,
        cast(null as decimal(18, 2)) as billable_value,
        cast(null as decimal(18, 2)) as billable_value_reporting,
        cast(0 as decimal(12, 4)) as invoiced_hours,
        cast(null as decimal(18, 2)) as invoiced_value,
        cast(null as decimal(18, 2)) as invoiced_value_reporting,
        cast(null as decimal(18, 2)) as invoiced_value_at_resolved_rate,
        cast(null as decimal(18, 2)) as invoiced_value_at_resolved_rate_reporting,
        cast(null as decimal(18, 2)) as labour_cost,
        cast(null as decimal(18, 2)) as labour_cost_reporting,
        cast(null as decimal(18, 2)) as expense_cost,
        cast(null as decimal(18, 2)) as expense_cost_reporting,
        cast({{ cent_share('recognized_revenue') }} as decimal(18, 0))
        * cast(0.01 as decimal(3, 2)) as recognized_revenue,
        cast({{ cent_share('recognized_revenue_reporting', 'reporting_') }} as decimal(18, 0))
        * cast(0.01 as decimal(3, 2)) as recognized_revenue_reporting
    from recognition_ranked

),

facts as (

    select * from entry_facts
    union all
    select * from invoiced_facts
    union all
    select * from expense_facts
    union all
    select * from recognized_facts

),

grouped as (

    select
        facts.source_system,
        facts.project_source_id,
        facts.month_start_date,
        resources.practice,
        resources.region,
        resources.legal_entity,
        max(facts.project_id) as project_id,
        max(facts.project_code) as project_code,
        max(facts.currency) as currency,
        sum(facts.hours) as hours,
        sum(facts.billable_hours) as billable_hours,
        sum(facts.billable_value) as billable_value,
        sum(facts.billable_value_reporting) as billable_value_reporting,
        sum(facts.invoiced_hours) as invoiced_hours,
        sum(facts.invoiced_value) as invoiced_value,
        sum(facts.invoiced_value_reporting) as invoiced_value_reporting,
        sum(facts.invoiced_value_at_resolved_rate) as invoiced_value_at_resolved_rate,
        sum(facts.invoiced_value_at_resolved_rate_reporting)
            as invoiced_value_at_resolved_rate_reporting,
        sum(facts.labour_cost) as labour_cost,
        sum(facts.labour_cost_reporting) as labour_cost_reporting,
        sum(facts.expense_cost) as expense_cost,
        sum(facts.expense_cost_reporting) as expense_cost_reporting,
        sum(facts.recognized_revenue) as recognized_revenue,
        sum(facts.recognized_revenue_reporting) as recognized_revenue_reporting
    from facts
    left join resources
        on facts.resource_id = resources.resource_id
    group by
        facts.source_system,
        facts.project_source_id,
        facts.month_start_date,
        resources.practice,
        resources.region,
        resources.legal_entity

),

totals as (

    select
        grouped.*,
        coalesce(grouped.recognized_revenue, 0) as revenue,
        coalesce(grouped.recognized_revenue_reporting, 0) as revenue_reporting,
        coalesce(grouped.labour_cost, 0) + coalesce(grouped.expense_cost, 0) as total_cost,
        coalesce(grouped.labour_cost_reporting, 0)
        + coalesce(grouped.expense_cost_reporting, 0) as total_cost_reporting
    from grouped

),

final as (

    select
        {{ hash_key([
            'totals.source_system', 'totals.project_source_id', 'totals.month_start_date',
            'totals.practice', 'totals.region', 'totals.legal_entity'
        ]) }} as project_financials_id,
        totals.project_id,
        totals.source_system,
        totals.project_source_id,
        totals.project_code,
        project_terms.project_name,
        project_terms.is_internal,
        project_terms.is_billable as is_billable_project,
        project_terms.contract_id,
        project_terms.contract_source_id,
        project_terms.billing_method,
        project_terms.client_id,
        project_terms.client_name,
        project_terms.legal_entity as project_legal_entity,
        totals.month_start_date,
        totals.practice,
        totals.region,
        totals.legal_entity,
        totals.currency,
        cast(totals.hours as decimal(18, 4)) as hours,
        cast(totals.billable_hours as decimal(18, 4)) as billable_hours,
        cast(coalesce(totals.billable_value, 0) as decimal(18, 2)) as billable_value,
        cast(totals.invoiced_hours as decimal(18, 4)) as invoiced_hours,
        cast(coalesce(totals.invoiced_value, 0) as decimal(18, 2)) as invoiced_value,
        cast(coalesce(totals.invoiced_value_at_resolved_rate, 0) as decimal(18, 2))
            as invoiced_value_at_resolved_rate,
        cast(totals.invoiced_value as {{ type_double() }})
        / nullif(cast(totals.invoiced_value_at_resolved_rate as {{ type_double() }}), 0)
            as realization,
        cast(coalesce(totals.labour_cost, 0) as decimal(18, 2)) as labour_cost,
        cast(coalesce(totals.expense_cost, 0) as decimal(18, 2)) as expense_cost,
        cast(totals.total_cost as decimal(18, 2)) as total_cost,
        cast(totals.revenue as decimal(18, 2)) as recognized_revenue,
        cast(totals.revenue - totals.total_cost as decimal(18, 2)) as margin,
        cast(totals.revenue - totals.total_cost as {{ type_double() }})
        / nullif(cast(totals.revenue as {{ type_double() }}), 0) as margin_share,
        '{{ var("reporting_currency") }}' as reporting_currency,
        cast(coalesce(totals.billable_value_reporting, 0) as decimal(18, 2))
            as billable_value_reporting,
        cast(coalesce(totals.invoiced_value_reporting, 0) as decimal(18, 2))
            as invoiced_value_reporting,
        cast(coalesce(totals.invoiced_value_at_resolved_rate_reporting, 0) as decimal(18, 2))
            as invoiced_value_at_resolved_rate_reporting,
        cast(coalesce(totals.labour_cost_reporting, 0) as decimal(18, 2))
            as labour_cost_reporting,
        cast(coalesce(totals.expense_cost_reporting, 0) as decimal(18, 2))
            as expense_cost_reporting,
        cast(totals.total_cost_reporting as decimal(18, 2)) as total_cost_reporting,
        cast(totals.revenue_reporting as decimal(18, 2)) as recognized_revenue_reporting,
        cast(totals.revenue_reporting - totals.total_cost_reporting as decimal(18, 2))
            as margin_reporting,
        as_of.as_of_date
    from totals
    cross join as_of
    left join project_terms
        on totals.project_id = project_terms.project_id

)

select * from final
