-- The records the billing write-back may put on an invoice (docs/design.md §6 step 1): one row per
-- time entry, expense or schedule amount, in the contract of `erp.candidates` (the write-back
-- groups rows into invoice lines and batches, so batch and line keys are computed where they
-- are checked). A record is a candidate when, as of the as-of date, it is
--   approved, billable, valid (no record-level exception) and on a contract without a
--   contract-level exception, has a price (labour: a resolved bill rate; expense: a rebill
--   amount in the contract currency), is on no ERP invoice line and in no billing batch yet,
--   and belongs to a closed billing period (the month of its work or transaction date,
--   ended by the as-of date). A record whose every exception is waived in force
--   (billing_waivers, docs/erp.md "Exception waivers") counts as valid.
-- Only time-and-materials contracts bill hours x rate (line kind labour). A schedule-basis
-- contract bills its schedule (int_contract_schedule_amounts) instead, never its hours: each
-- due amount not yet batched is a record of its own, billed in the month of its billable
-- date (fixed_fee_instalment, retainer_fee, milestone: one unit at the amount;
-- retainer_overage: the overage hours at the overage rate). Labour the ERP invoiced on such
-- a contract outside the write-back (legacy labour lines, contract_unbilled_by_method)
-- covers its earliest fees first, once: over all its fees in due order, batched or not (a
-- fee batched after being partly covered has spent its share), so the candidates bill what
-- is unbilled and a fee's share depends on the due order alone, never on what was batched.
-- Rebillable expenses are candidates on every method. Work held past a not-to-exceed cap
-- (wip_excluded_time_entries, over_cap) is no candidate, nor is a record the legacy ERP bills
-- during a phased migration (stg_config__system_of_record, docs/design.md §6).

with

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('fct_expenses') }}

),

contracts as (

    select * from {{ ref('dim_contracts') }}

),

waived_records as (

    select correlation_id from {{ ref('billing_waivers') }}
    where is_record_waived

),

held_over_cap as (

    select correlation_id from {{ ref('wip_excluded_time_entries') }}
    where exclusion_reason = 'over_cap'

),

clients as (

    select
        client_id,
        client_name,
        billing_country_code
    from {{ ref('dim_clients') }}

),

-- a schedule bills services: the tax rule of labour
labour_tax_rules as (

    select
        legal_entity,
        client_country,
        tax_code,
        tax_rate
    from {{ ref('stg_config__tax_rules') }}
    where line_kind = 'labour'

),

-- batched or not: the legacy labour coverage runs over every fee (fees_in_due_order)
schedule_amounts as (

    select * from {{ ref('int_contract_schedule_amounts') }}
    where amount > 0

),

-- ERP labour lines on a schedule-basis contract: its schedule billed outside the write-back
labour_invoiced as (

    select
        contract_id,
        sum(amount) as invoiced_amount
    from {{ ref('fct_invoice_lines') }}
    where line_kind = 'labour' and is_released
    group by contract_id

),

fees_in_due_order as (

    select
        schedule_amounts.*,
        contracts.contract_id,
        coalesce(labour_invoiced.invoiced_amount, 0) as labour_invoiced_amount,
        sum(schedule_amounts.amount) over (
            partition by schedule_amounts.contract_source_id
            order by schedule_amounts.due_date nulls last, schedule_amounts.correlation_id
            rows between unbounded preceding and current row
        ) as running_amount
    from schedule_amounts
    inner join contracts
        on schedule_amounts.contract_source_id = contracts.source_id
    left join labour_invoiced
        on contracts.contract_id = labour_invoiced.contract_id
    where schedule_amounts.line_kind != 'retainer_overage'

),

schedule_due as (

    -- a fee not yet batched, less what legacy labour lines cover of it: the coverage left
    -- after the fees before it in due order (running_amount - amount), batched ones included
    select
        contract_id,
        correlation_id,
        line_kind,
        schedule_line_name,
        description,
        billable_date,
        cast(null as decimal(18, 4)) as unit_price,
        cast(null as decimal(12, 4)) as quantity,
        least(amount, running_amount - labour_invoiced_amount) as amount
    from fees_in_due_order
    where not is_batched and running_amount > labour_invoiced_amount
    union all
    select
        contracts.contract_id,
        schedule_amounts.correlation_id,
        schedule_amounts.line_kind,
        schedule_amounts.schedule_line_name,
        schedule_amounts.description,
        schedule_amounts.billable_date,
        schedule_amounts.unit_price,
        schedule_amounts.quantity,
        cast(null as decimal(18, 2)) as amount
    from schedule_amounts
    inner join contracts
        on schedule_amounts.contract_source_id = contracts.source_id
    where schedule_amounts.line_kind = 'retainer_overage' and not schedule_amounts.is_batched

),

projects as (

    select
        project_id,
        project_name
    from {{ ref('dim_projects') }}

),

labour as (

    select
        {{ dbt.date_trunc('month', 'time_entries.work_date') }} as period_start,
        time_entries.contract_id,
        time_entries.client_id,
        time_entries.legal_entity,
        time_entries.currency,
        'labour' as line_kind,
        time_entries.worker_role as line_category,
        time_entries.worker_role
        || ' - ' || coalesce(projects.project_name, time_entries.project_code)
        || ' - ' || coalesce(time_entries.task_name, 'time') as line_description,
        time_entries.resolved_bill_rate as unit_price,
        time_entries.tax_code,
        time_entries.tax_rate_percent,
        time_entries.correlation_id,
        time_entries.hours as quantity,
        cast(null as decimal(18, 2)) as amount
    from time_entries
    inner join contracts
        on time_entries.contract_id = contracts.contract_id
    left join projects
        on time_entries.project_id = projects.project_id
    where
        (
            time_entries.is_unbilled_wip
            or (
                time_entries.is_approved and time_entries.is_billable
                and not time_entries.is_invoiced
                and time_entries.correlation_id in (
                    select waived_records.correlation_id from waived_records
                )
            )
        )
        and not time_entries.has_contract_exception
        and not time_entries.is_batched
        -- nothing to invoice: no hours (a zero-hour entry) or no price (a rate of 0, pro bono);
        -- negative hours are negative_hours exceptions, excluded above
        and time_entries.hours > 0
        and time_entries.resolved_bill_rate > 0
        and contracts.billing_method = 'time_and_materials'
        and time_entries.correlation_id not in (
            select held_over_cap.correlation_id from held_over_cap
        )

),

rebilled_expenses as (

    select
        {{ dbt.date_trunc('month', 'expenses.transaction_date') }} as period_start,
        expenses.contract_id,
        expenses.client_id,
        expenses.legal_entity,
        expenses.contract_currency as currency,
        'expense' as line_kind,
        expenses.expense_type_name as line_category,
        'Expenses - ' || expenses.expense_type_name || ' - '
        || coalesce(projects.project_name, expenses.project_code, 'general') as line_description,
        cast(null as decimal(18, 4)) as unit_price,
        expenses.tax_code,
        expenses.tax_rate_percent,
        expenses.correlation_id,
        cast(null as decimal(12, 4)) as quantity,
        expenses.rebill_amount as amount
    from expenses
    inner join contracts
        on expenses.contract_id = contracts.contract_id
    left join projects
        on expenses.project_id = projects.project_id
    where
        expenses.rebill_amount is not null
        and (
            expenses.is_valid
            or expenses.correlation_id in (
                select waived_records.correlation_id from waived_records
            )
        )
        and not contracts.has_exception
        and not expenses.is_batched
        and not expenses.is_invoiced

),

scheduled as (

    select
        {{ dbt.date_trunc('month', 'schedule_due.billable_date') }} as period_start,
        schedule_due.contract_id,
        contracts.client_id,
        contracts.legal_entity,
        contracts.currency,
        schedule_due.line_kind,
        -- the ERP service product: the contract's billing method
        contracts.billing_method as line_category,
        case schedule_due.line_kind
            when 'fixed_fee_instalment' then 'Fixed fee'
            when 'retainer_fee' then 'Retainer'
            when 'retainer_overage' then 'Retainer overage'
            when 'milestone' then 'Milestone'
        end
        || ' - ' || coalesce(contracts.contract_name, contracts.source_id)
        || ' - ' || coalesce(schedule_due.description, schedule_due.schedule_line_name)
        || ' (' || schedule_due.schedule_line_name || ')' as line_description,
        schedule_due.unit_price,
        labour_tax_rules.tax_code,
        labour_tax_rules.tax_rate as tax_rate_percent,
        schedule_due.correlation_id,
        schedule_due.quantity,
        schedule_due.amount
    from schedule_due
    inner join contracts
        on schedule_due.contract_id = contracts.contract_id
    left join clients
        on contracts.client_id = clients.client_id
    left join labour_tax_rules
        on
            contracts.legal_entity = labour_tax_rules.legal_entity
            and clients.billing_country_code = labour_tax_rules.client_country
    where not contracts.has_exception and schedule_due.billable_date is not null

),

unioned as (

    select * from labour
    union all
    select * from rebilled_expenses
    union all
    select * from scheduled

),

-- system-of-record routing: per record, the rule of its invoicing entity and domain for its
-- billing period, the entity's own before `*`, then the latest cutover (no rule: the
-- write-back); a rule naming an unknown domain or system applies to nothing
routing_rules as (

    select
        legal_entity,
        domain,
        system,
        effective_from
    from {{ ref('stg_config__system_of_record') }}
    where domain in ('time', 'expenses', 'invoices') and system in ('legacy', 'write_back')

),

records_to_route as (

    select
        unioned.correlation_id,
        unioned.period_start,
        coalesce(contracts.legal_entity, unioned.legal_entity) as legal_entity,
        case unioned.line_kind
            when 'labour' then 'time'
            when 'expense' then 'expenses'
            else 'invoices'
        end as billing_domain
    from unioned
    inner join contracts
        on unioned.contract_id = contracts.contract_id

),

routed as (

    select
        correlation_id,
        system
    from (
        select
            records_to_route.correlation_id,
            routing_rules.system,
            row_number() over (
                partition by records_to_route.correlation_id
                order by
                    case when routing_rules.legal_entity = '*' then 1 else 0 end,
                    routing_rules.effective_from desc
            ) as rule_rank
        from records_to_route
        inner join routing_rules
            on
                records_to_route.billing_domain = routing_rules.domain
                and records_to_route.period_start >= routing_rules.effective_from
                and (
                    records_to_route.legal_entity = routing_rules.legal_entity
                    or routing_rules.legal_entity = '*'
                )
    ) as ranked_rules
    where rule_rank = 1

),

final as (

    select
        {{ dbt.concat([
            "cast(extract(year from unioned.period_start) as " ~ type_text() ~ ")", "'-'",
            "lpad(cast(extract(month from unioned.period_start) as " ~ type_text() ~ "), 2, '0')"
        ]) }}
            as period,
        contracts.account_source_id as client_ref,
        coalesce(clients.client_name, contracts.account_source_id) as client_name,
        contracts.source_id as contract_ref,
        -- the invoicing entity: the contract's
        coalesce(contracts.legal_entity, unioned.legal_entity) as legal_entity,
        unioned.currency,
        -- periodic billing: the invoice is dated at the period end
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'unioned.period_start')) }} as date
        ) as invoice_date,
        contracts.payment_terms,
        unioned.line_kind,
        unioned.line_category,
        unioned.line_description,
        cast(unioned.unit_price as decimal(18, 4)) as unit_price,
        unioned.tax_code,
        cast(unioned.tax_rate_percent / 100 as decimal(8, 6)) as tax_rate,
        unioned.correlation_id,
        cast(unioned.quantity as decimal(12, 4)) as quantity,
        cast(unioned.amount as decimal(18, 2)) as amount,
        {{ as_of_date() }} as as_of_date
    from unioned
    inner join contracts
        on unioned.contract_id = contracts.contract_id
    left join clients
        on contracts.client_id = clients.client_id
    -- closed periods only: a month is billed once it has ended
    where
        cast({{ dbt.dateadd('month', 1, 'unioned.period_start') }} as date)
        <= {{ dbt.dateadd('day', 1, as_of_date()) }}
        and unioned.correlation_id not in (
            select routed.correlation_id
            from routed
            where routed.system = 'legacy'
        )

)

select * from final
