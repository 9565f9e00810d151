-- Exceptions of ERP invoices: a customer that matches no Salesforce account, explicitly or
-- through the identity mappings (docs/design.md §3: unmatched records are exceptions), and
-- an invoice without an FX rate to the reporting currency (missing_fx_rate: a legacy
-- invoice carries its own ERP rate, one written back takes int_fx_rates_daily's).

with

invoices as (

    select * from {{ ref('int_invoices_enriched') }}

),

unmatched_client as (

    select
        invoice_source_id as source_id,
        'unmatched_client' as reason,
        'customer ' || customer_source_id || ' matches no account' as detail
    from invoices
    where has_accounts and account_source_id is null

),

missing_fx_rate as (

    select
        invoice_source_id as source_id,
        reason,
        detail
    from (
        {{ missing_fx_rate_exceptions('invoices', ['invoice_source_id'], 'invoice_date', [
            {'from': 'currency', 'to': "'" ~ var('reporting_currency') ~ "'",
             'rate': 'base_per_unit'},
        ]) }}
    ) as missing_rates

),

unioned as (

    select * from unmatched_client
    union all
    select * from missing_fx_rate

)

select
    'erp' as source_system,
    'invoices' as source_entity,
    source_id,
    reason,
    detail
from unioned
