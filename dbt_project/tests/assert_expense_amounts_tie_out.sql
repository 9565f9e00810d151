-- Fails if expense money is lost or double-counted between staging and the marts: the
-- posted amounts of the distinct Concur entries in staging must equal those in fct_expenses,
-- and equal the valid entries' amounts plus the amounts of the excepted entries in
-- billing_exceptions, per reimbursement currency (less the entries held out of every figure
-- for an implausible date: int_record_date_exceptions).

-- an asset check of fct_expenses in Dagster (the test reads more than one model)
{{ config(meta={
    'invariant': 'tie_out',
    'dagster': {'ref': {'name': 'fct_expenses'}},
}) }}

with

held_out as (

    select source_id from {{ ref('int_record_date_exceptions') }}
    where source_entity = 'expenses'

),

-- each entry's current extract, as fct_expenses picks it (a re-extract may lower an amount)
staged as (

    select
        expense_source_id,
        reimbursement_currency as currency,
        posted_amount as amount
    from (
        select
            *,
            {{ concur_expense_version_rank() }} as version_rank
        from {{ ref('stg_concur__expenses') }}
    ) as versions
    where
        version_rank = 1
        and expense_source_id not in (select held_out.source_id from held_out)

),

staged_totals as (

    select
        currency,
        count(*) as entries,
        sum(amount) as amount
    from staged
    group by currency

),

mart_totals as (

    select
        reimbursement_currency as currency,
        count(*) as entries,
        sum(posted_amount) as amount,
        sum(case when is_valid then posted_amount else 0 end) as valid_amount
    from {{ ref('fct_expenses') }}
    group by reimbursement_currency

),

excepted as (

    select distinct
        source_id,
        currency,
        amount
    from {{ ref('billing_exceptions') }}
    where
        source_entity = 'expenses'
        and source_id not in (select held_out.source_id from held_out)

),

excepted_totals as (

    select
        currency,
        sum(amount) as amount
    from excepted
    group by currency

),

compared as (

    select
        coalesce(staged_totals.currency, mart_totals.currency) as currency,
        staged_totals.entries as staged_entries,
        mart_totals.entries as mart_entries,
        staged_totals.amount as staged_amount,
        mart_totals.amount as mart_amount,
        mart_totals.valid_amount,
        coalesce(excepted_totals.amount, 0) as excepted_amount
    from staged_totals
    full outer join mart_totals
        on staged_totals.currency = mart_totals.currency
    left join excepted_totals
        on staged_totals.currency = excepted_totals.currency

)

select *
from compared
where
    staged_entries is distinct from mart_entries
    or staged_amount is distinct from mart_amount
    or staged_amount is distinct from valid_amount + excepted_amount
