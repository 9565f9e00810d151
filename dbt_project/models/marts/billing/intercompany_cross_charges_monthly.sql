-- Intercompany cross-charges per supplier (employing) entity, customer (contracting) entity
-- and work month, in the supplier's currency (docs/design.md §4): what the customer owes
-- the supplier for the labour it lent, and how much of it no transfer-pricing rule prices
-- yet (missing_transfer_pricing rows of intercompany_cross_charges).

with

cross_charges as (

    select * from {{ ref('intercompany_cross_charges') }}

),

monthly as (

    select
        {{ hash_key(['supplier_entity', 'customer_entity', 'month_start_date']) }}
            as cross_charge_month_id,
        supplier_entity,
        customer_entity,
        month_start_date,
        currency,
        count(*) as entry_count,
        cast(sum(hours) as decimal(18, 4)) as hours,
        cast(sum(labour_cost) as decimal(18, 2)) as labour_cost,
        cast(coalesce(sum(transfer_price), 0) as decimal(18, 2)) as transfer_price,
        count(*) filter (where exception_reason is not null) as unpriced_entry_count,
        cast(
            coalesce(sum(hours) filter (where exception_reason is not null), 0)
            as decimal(18, 4)
        ) as unpriced_hours,
        max(as_of_date) as as_of_date
    from cross_charges
    group by supplier_entity, customer_entity, month_start_date, currency

)

select * from monthly
