-- Intercompany cross-charges (docs/design.md §4): one row per approved time entry, known by
-- the as-of date, worked by a person of one legal entity (the supplier, who employs them) on
-- a contract of another (the customer, who bills the client). The customer's invoice to the
-- client is the work's revenue; this is what it owes the supplier for the labour, priced by
-- the firm's transfer-pricing rule in force on the work date (config/transfer_pricing):
--   labour cost = hours x the worker's cost rate, in the supplier's currency;
--   cost_plus: transfer price = labour cost x (1 + markup_pct / 100);
--   billed_share: transfer price = share_pct / 100 x the entry's billable value, converted
--     from the contract's currency to the supplier's at the work date.
-- The rule: the most specific one (both entities named, then the supplier, then the
-- customer, then `*,*`), of those the latest effective on or before the work date. An entry
-- no rule covers keeps its row with no price: a missing_transfer_pricing exception for
-- finance, never a failed build. Entries on a contract of an entity not configured are the
-- contract's unknown_legal_entity exception, not a cross-charge.

with

as_of as (

    select
        {{ as_of_date() }} as as_of_date,
        {{ as_of_end() }} as as_of_end

),

time_entries as (

    select * from {{ ref('fct_time_entries') }}

),

resources as (

    select
        resource_id,
        legal_entity,
        cost_rate,
        cost_rate_currency
    from {{ ref('dim_resources') }}

),

legal_entities as (

    select
        legal_entity,
        currency
    from {{ ref('dim_legal_entities') }}

),

-- a rule without its percentage or of another method prices nothing (a warning on the
-- staging model says which)
rules as (

    select * from {{ ref('stg_config__transfer_pricing') }}
    where
        (method = 'cost_plus' and markup_pct is not null)
        or (method = 'billed_share' and share_pct is not null)

),

fx_rates as (

    select
        currency,
        rate_date,
        base_per_unit
    from {{ ref('int_fx_rates_daily') }}

),

cross_entity_entries as (

    select
        time_entries.correlation_id,
        time_entries.source_system,
        time_entries.source_id,
        time_entries.employee_id,
        time_entries.project_code,
        time_entries.contract_source_id,
        resources.legal_entity as supplier_entity,
        time_entries.legal_entity as customer_entity,
        suppliers.currency,
        time_entries.work_date,
        time_entries.hours,
        {{ exact_money('time_entries.hours * resources.cost_rate') }} as cost_in_cost_currency,
        resources.cost_rate_currency,
        -- what the customer bills the client for it (none for non-billable work)
        case
            when time_entries.is_billable_stage then time_entries.billable_amount
            else cast(0 as decimal(18, 2))
        end as billable_value,
        time_entries.currency as billable_currency
    from time_entries
    cross join as_of
    inner join resources
        on time_entries.resource_id = resources.resource_id
    inner join legal_entities as suppliers
        on resources.legal_entity = suppliers.legal_entity
    inner join legal_entities as customers
        on time_entries.legal_entity = customers.legal_entity
    where
        time_entries.is_approved
        and time_entries.contract_id is not null
        and resources.legal_entity != time_entries.legal_entity
        and time_entries.work_date <= as_of.as_of_date
        and (time_entries.created_at is null or time_entries.created_at < as_of.as_of_end)

),

in_supplier_currency as (

    -- amounts already in the supplier's currency are kept as they are (no rate needed)
    select
        cross_entity_entries.*,
        case
            when cross_entity_entries.cost_rate_currency = cross_entity_entries.currency
                then cross_entity_entries.cost_in_cost_currency
            else {{ convert_exact_money(
                'cross_entity_entries.cost_in_cost_currency',
                cross_rate('cost_fx.base_per_unit', 'supplier_fx.base_per_unit')
            ) }}
        end as labour_cost,
        case
            when cross_entity_entries.billable_currency = cross_entity_entries.currency
                then cross_entity_entries.billable_value
            else {{ convert_exact_money(
                'cross_entity_entries.billable_value',
                cross_rate('billed_fx.base_per_unit', 'supplier_fx.base_per_unit')
            ) }}
        end as billable_value_in_supplier_currency
    from cross_entity_entries
    left join fx_rates as supplier_fx
        on
            cross_entity_entries.currency = supplier_fx.currency
            and cross_entity_entries.work_date = supplier_fx.rate_date
    left join fx_rates as cost_fx
        on
            cross_entity_entries.cost_rate_currency = cost_fx.currency
            and cross_entity_entries.work_date = cost_fx.rate_date
    left join fx_rates as billed_fx
        on
            cross_entity_entries.billable_currency = billed_fx.currency
            and cross_entity_entries.work_date = billed_fx.rate_date

),

ranked_rules as (

    select
        in_supplier_currency.correlation_id,
        rules.method,
        rules.markup_pct,
        rules.share_pct,
        rules.effective_from,
        row_number() over (
            partition by in_supplier_currency.correlation_id
            order by
                case when rules.from_entity = '*' then 0 else 2 end
                + case when rules.to_entity = '*' then 0 else 1 end desc,
                rules.effective_from desc
        ) as rule_rank
    from in_supplier_currency
    inner join rules
        on
            rules.from_entity in (in_supplier_currency.supplier_entity, '*')
            and rules.to_entity in (in_supplier_currency.customer_entity, '*')
            and in_supplier_currency.work_date >= rules.effective_from

),

priced as (

    select
        in_supplier_currency.*,
        ranked_rules.method as transfer_pricing_method,
        ranked_rules.markup_pct,
        ranked_rules.share_pct,
        ranked_rules.effective_from as rule_effective_from,
        -- percent as an exact decimal product (x 0.01), not a division; the cast outside the
        -- case keeps the column's scale on PostgreSQL (a case with no else drops it)
        cast(
            case ranked_rules.method
                when 'cost_plus' then {{ exact_money(
                    'in_supplier_currency.labour_cost * (100 + ranked_rules.markup_pct)'
                    ~ ' * cast(0.01 as decimal(3, 2))'
                ) }}
                when 'billed_share' then {{ exact_money(
                    'in_supplier_currency.billable_value_in_supplier_currency'
                    ~ ' * ranked_rules.share_pct * cast(0.01 as decimal(3, 2))'
                ) }}
            end as decimal(18, 2)
        ) as transfer_price
    from in_supplier_currency
    left join ranked_rules
        on
            in_supplier_currency.correlation_id = ranked_rules.correlation_id
            and ranked_rules.rule_rank = 1

),

final as (

    select
        priced.correlation_id,
        priced.source_system,
        priced.source_id,
        priced.employee_id,
        priced.project_code,
        priced.contract_source_id,
        priced.supplier_entity,
        priced.customer_entity,
        priced.work_date,
        cast({{ dbt.date_trunc('month', 'priced.work_date') }} as date) as month_start_date,
        priced.hours,
        priced.currency,
        priced.labour_cost,
        priced.transfer_pricing_method,
        priced.markup_pct,
        priced.share_pct,
        priced.rule_effective_from,
        priced.transfer_price,
        case
            when priced.transfer_pricing_method is null then 'missing_transfer_pricing'
        end as exception_reason,
        case when priced.transfer_pricing_method is null then 'finance' end as owner_team,
        as_of.as_of_date
    from priced
    cross join as_of

)

select * from final
