-- Record-level exceptions of Concur expense entries (docs/design.md §5, predicates in
-- docs/generator.md), one row per (expense line, reason). Receipt and policy limit judge
-- the entry's total (an allocated entry is one expense): every line of the entry carries them.

with

expenses as (

    select * from {{ ref('int_expenses_enriched') }}

),

missing_receipt as (

    select
        expense_source_id as source_id,
        'missing_receipt' as reason,
        'no receipt for ' || cast(entry_posted_amount as {{ type_text() }}) || ' '
        || reimbursement_currency
        || ' (required over ' || cast(receipt_required_over as {{ type_text() }}) || ')' as detail
    from expenses
    where not has_receipt and entry_posted_amount > receipt_required_over

),

over_policy_limit as (

    select
        expense_source_id as source_id,
        'over_policy_limit' as reason,
        cast(entry_posted_amount as {{ type_text() }}) || ' ' || reimbursement_currency
        || ' over the limit of ' || cast(policy_limit as {{ type_text() }}) as detail
    from expenses
    where entry_posted_amount > policy_limit

),

unknown_expense_type as (

    select
        expense_source_id as source_id,
        'unknown_expense_type' as reason,
        'expense type ' || coalesce(expense_type_code, '(none)') || ' has no policy line in '
        || reimbursement_currency as detail
    from expenses
    -- no policy line matched (is_rebillable_type is required on every line; a policy_limit
    -- may be null: no limit). A personal line is the employee's own money: no policy applies.
    where is_rebillable_type is null and not is_personal

),

missing_tax_rule as (

    select
        expense_source_id as source_id,
        'missing_tax_rule' as reason,
        'no tax rule for legal entity ' || contract_legal_entity || ' and client country '
        || client_country as detail
    from expenses
    where
        is_billable
        and contract_legal_entity is not null
        and client_country is not null
        and tax_code is null

),

unmatched_client as (

    select
        expense_source_id as source_id,
        'unmatched_client' as reason,
        'client ' || client_ref || ' matches no account' as detail
    from expenses
    where has_accounts and client_ref is not null and client_account_source_id is null

),

unmatched_worker as (

    select
        expense_source_id as source_id,
        'unmatched_worker' as reason,
        'employee ' || employee_id || ' matches no HR worker' as detail
    from expenses
    where has_workers and not is_worker_known

),

missing_fx_rate as (

    -- posted amount to the reporting currency, and to the contract's when it is re-billed,
    -- at the transaction date (macro missing_fx_rate_exceptions)
    select
        expense_source_id as source_id,
        reason,
        detail
    from (
        {{ missing_fx_rate_exceptions('expenses', ['expense_source_id'], 'transaction_date', [
            {'from': 'reimbursement_currency', 'to': "'" ~ var('reporting_currency') ~ "'",
             'rate': 'reporting_fx_rate'},
            {'from': 'reimbursement_currency', 'to': 'contract_currency',
             'rate': 'contract_fx_rate',
             'needed': 'is_billable and not is_personal and contract_source_id is not null'},
        ]) }}
    ) as missing_rates

),

unioned as (

    select * from missing_receipt
    union all
    select * from over_policy_limit
    union all
    select * from unmatched_client
    union all
    select * from unmatched_worker
    union all
    select * from unknown_expense_type
    union all
    select * from missing_tax_rule
    union all
    select * from missing_fx_rate

)

select
    'concur' as source_system,
    'expenses' as source_entity,
    source_id,
    reason,
    detail
from unioned
