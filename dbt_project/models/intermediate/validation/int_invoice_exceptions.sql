-- Exceptions of ERP invoices: a customer that matches no Salesforce account, explicitly or
-- through the identity mappings (docs/design.md §3: unmatched records are exceptions), and
-- an invoice without an FX rate to the reporting currency (missing_fx_rate: a legacy
-- invoice carries its own ERP rate, one written back takes int_fx_rates_daily's), and an
-- invoice with a released labour line that bills no time entry (a line typed in the ERP by
-- hand, a discount or credit keyed as labour, a line whose entries carry neither hours nor
-- value): project_financials_monthly splits a labour line over the entries it bills, by
-- value at the resolved rate else by hours, so such a line's amount is in no project's
-- revenue. Firm data, not a fault of the code: an exception, never a failed build. So is an
-- invoice whose subtotal differs from the sum of its exported lines (its lines not landed
-- yet, or the ERP's header and lines disagreeing): subtotal_differs_from_lines.

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

labour_line_weights as (

    -- the weights project_financials_monthly splits each released labour line by
    select
        invoice_lines.invoice_line_source_id,
        invoice_lines.invoice_source_id,
        invoice_lines.amount,
        invoice_lines.currency,
        sum(cast(coalesce(entries.billable_amount, 0) * 100 as bigint)) as value_weight,
        sum(cast(entries.hours * 10000 as bigint)) as hours_weight
    from {{ ref('int_invoice_lines_enriched') }} as invoice_lines
    left join {{ ref('int_invoice_line_records') }} as line_records
        on invoice_lines.invoice_line_source_id = line_records.invoice_line_source_id
    left join {{ ref('int_time_entries_rated') }} as entries
        on
            line_records.record_kind = 'time_entry'
            and line_records.record_system = entries.source_system
            and line_records.record_source_id = entries.source_id
    where invoice_lines.is_released and invoice_lines.line_kind = 'labour'
    group by
        invoice_lines.invoice_line_source_id,
        invoice_lines.invoice_source_id,
        invoice_lines.amount,
        invoice_lines.currency

),

unattributed_labour_line as (

    select
        invoice_source_id as source_id,
        'unattributed_labour_line' as reason,
        cast(count(*) as {{ type_text() }}) || ' labour line(s) of '
        || cast(sum(amount) as {{ type_text() }}) || ' ' || max(currency)
        || ' bill no time entry: in no project''s revenue' as detail
    from labour_line_weights
    -- no entry to split over: none known, or none with value or hours
    where coalesce(value_weight, 0) <= 0 and coalesce(hours_weight, 0) = 0
    group by invoice_source_id

),

line_totals as (

    select
        invoice_source_id,
        sum(amount) as lines_amount
    from {{ ref('int_invoice_lines_enriched') }}
    group by invoice_source_id

),

subtotal_differs_from_lines as (

    select
        invoices.invoice_source_id as source_id,
        'subtotal_differs_from_lines' as reason,
        'subtotal ' || cast(invoices.subtotal as {{ type_text() }}) || ' ' || invoices.currency
        || ', lines ' || cast(coalesce(line_totals.lines_amount, 0) as {{ type_text() }}) as detail
    from invoices
    left join line_totals
        on invoices.invoice_source_id = line_totals.invoice_source_id
    where invoices.subtotal != coalesce(line_totals.lines_amount, 0)

),

unioned as (

    select * from unmatched_client
    union all
    select * from missing_fx_rate
    union all
    select * from unattributed_labour_line
    union all
    select * from subtotal_differs_from_lines

)

select
    'erp' as source_system,
    'invoices' as source_entity,
    source_id,
    reason,
    detail
from unioned
