-- Concur expense lines, legacy ERP invoices and FX rates dated outside the firm's history
-- window (macro is_plausible_date: a year typed wrong, `infinity`), as time entries are in
-- int_time_entry_date_exceptions: one `implausible_date` exception each, held out of every
-- figure (int_expenses_enriched, int_invoices_enriched, int_fx_rates_daily) until the source
-- corrects the date. The current version of an expense or invoice is picked as its enriched
-- model picks it; an FX rate is one published (currency, effective date).

with

expense_versions as (

    select
        *,
        {{ concur_expense_version_rank() }} as version_rank,
        min(ingested_at) over (partition by expense_source_id) as first_ingested_at
    from {{ ref('stg_concur__expenses') }}

),

expenses as (

    select
        'concur' as source_system,
        'expenses' as source_entity,
        expense_source_id as source_id,
        'expense' as record_kind,
        'transaction date' as date_name,
        transaction_date as record_date,
        project_code,
        posted_amount as amount,
        reimbursement_currency as currency,
        first_ingested_at
    from expense_versions
    where version_rank = 1 and not {{ is_plausible_date('transaction_date') }}

),

invoice_versions as (

    select
        *,
        row_number() over (
            partition by invoice_source_id
            order by updated_at desc, ingested_at desc, source_file desc, source_row_number desc
        ) as version_rank,
        min(ingested_at) over (partition by invoice_source_id) as first_ingested_at
    from {{ ref('stg_erp__invoices') }}

),

invoices as (

    select
        'erp' as source_system,
        'invoices' as source_entity,
        invoice_source_id as source_id,
        'invoice' as record_kind,
        'invoice date' as date_name,
        invoice_date as record_date,
        project_code,
        total as amount,
        currency,
        first_ingested_at
    from invoice_versions
    where version_rank = 1 and not {{ is_plausible_date('invoice_date') }}

),

fx_rates as (

    select
        source_system,
        'fx_rates' as source_entity,
        currency || ' ' || cast(effective_date as {{ type_text() }}) as source_id,
        'fx_rate' as record_kind,
        'effective date' as date_name,
        effective_date as record_date,
        cast(null as {{ type_text() }}) as project_code,
        cast(null as decimal(18, 2)) as amount,
        currency,
        min(ingested_at) as first_ingested_at
    from (
        select
            'erp' as source_system,
            currency,
            effective_date,
            ingested_at
        from {{ ref('stg_erp__fx_rates') }}
        union all
        select
            'config' as source_system,
            currency,
            effective_date,
            ingested_at
        from {{ ref('stg_config__fx_rates') }}
    ) as rates
    where not {{ is_plausible_date('effective_date') }}
    group by source_system, currency, effective_date

),

records as (

    select * from expenses
    union all
    select * from invoices
    union all
    select * from fx_rates

),

final as (

    select
        source_system,
        source_entity,
        source_id,
        'implausible_date' as reason,
        date_name || ' ' || coalesce(cast(record_date as {{ type_text() }}), '(none)')
        || ' is outside the history window '
        || cast({{ history_window_start() }} as {{ type_text() }}) || ' to '
        || cast({{ history_window_end() }} as {{ type_text() }}) as detail,
        record_kind,
        project_code,
        amount,
        currency,
        first_ingested_at
    from records

)

select * from final
