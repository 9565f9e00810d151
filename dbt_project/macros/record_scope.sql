{#- The marts built incrementally by record or by month (DECISIONLOG "The record-level marts
    are built by record"): reconciliation_records, record_lags, project_financials_monthly.
    Each scope below lists what can change a row of its model since the model's last build;
    everything else the rows depend on (master data, vars, the outbox, model code) is in the
    fingerprint (macros/incremental.sql) and rebuilds them in full. -#}

{#- The models the scopes below read, for a model's `-- depends_on:` comment: the scopes run
    only on a daily build, so dbt would not see these refs when it parses the model
    (stg_config__sla_thresholds: the history window of is_plausible_date). -#}
{% macro record_scope_refs() -%}
    {%- set refs = [] -%}
    {%- for name in [
        'stg_erp__invoices', 'stg_erp__invoice_lines', 'stg_erp_api__invoices',
        'stg_erp_api__invoice_lines', 'stg_erp_api__invoice_status',
        'int_time_entry_versions', 'stg_concur__expenses',
        'int_invoice_line_records', 'int_time_entries_rated', 'stg_config__sla_thresholds',
    ] -%}
        {%- do refs.append(ref(name) | string) -%}
    {%- endfor -%}
    {{ return(refs | join(', ')) }}
{%- endmacro %}

{#- What a daily run of this model starts from, or none when it builds in full: the landed-data
    watermark of its last build (a timestamp literal) and the time-entry chain's cutoff (a
    date literal: fct_time_entries rebuilt the entries worked from it on). -#}
{% macro rebuild_window() -%}
    {%- set watermark = incremental_watermark() -%}
    {%- if watermark is none -%}{{ return(none) }}{%- endif -%}
    {%- set cutoff = incremental_cutoff(
        with_billing=true, invoiced_entries=ref('fct_time_entries'), watermark=watermark
    ) -%}
    {{ return(["cast('" ~ watermark ~ "' as timestamp)", cutoff]) }}
{%- endmacro %}

{#- CTEs `legacy_refs` and `records_on_changed_invoices` (correlation_id): the records any
    exported version of a line of an invoice in CTE `changed_invoices` bills, so also a record
    a later export took off its line. For a `with` list, after `changed_invoices`. -#}
{% macro records_on_changed_invoices() -%}
    legacy_refs as (
        select trim({{ split_to_rows('billed_record_refs', ';') }}) as record_ref
        from {{ ref('stg_erp__invoice_lines') }}
        where invoice_source_id in (select invoice_source_id from changed_invoices)
    ),
    records_on_changed_invoices as (
        select {{ record_ref_correlation_id('record_ref') }} as correlation_id from legacy_refs
        union
        select {{ split_list_to_rows('correlation_ids') }} as correlation_id
        from {{ ref('stg_erp_api__invoice_lines') }}
        where invoice_source_id in (select invoice_source_id from changed_invoices)
    )
{%- endmacro %}

{#- Record scope of reconciliation_records' daily run, as a select of correlation ids, or none
    to build in full. Every expense is rebuilt (fct_expenses is), and these time entries:
    - the ones fct_time_entries rebuilt (worked on or after the time-entry chain's cutoff);
    - those any exported version of a line of an invoice landed since bills, so a record
      taken off a line is rebuilt too;
    - those of a contract with such an invoice: the invoice may pass them over. -#}
{% macro reconciliation_scope_keys() -%}
    {%- set window = rebuild_window() -%}
    {%- if window is none -%}{{ return(none) }}{%- endif -%}
    {%- set since, cutoff = window -%}
    {%- set keys -%}
        with changed_invoices as ({{ changed_invoices_since(since) }}),
        changed_contracts as (
            select contract_id from {{ ref('fct_invoices') }}
            where source_id in (select invoice_source_id from changed_invoices)
            union
            select {{ surrogate_key("'salesforce'", 'contract_ref') }}
            from {{ ref('stg_erp__invoices') }}
            where invoice_source_id in (select invoice_source_id from changed_invoices)
        ),
        {{ records_on_changed_invoices() }}
        select correlation_id from {{ ref('fct_time_entries') }}
        where
            work_date >= {{ cutoff }}
            or contract_id in (select contract_id from changed_contracts)
        union
        select correlation_id from records_on_changed_invoices
    {%- endset -%}
    {{ return(keys) }}
{%- endmacro %}

{#- The rows of reconciliation_records a run rebuilds: those of every expense and billing
    schedule amount (few, and a schedule amount's due date moves with the as-of date), of
    every record of unknown kind (a written-back correlation id the warehouse does not know,
    which may be known as an expense later) and of the staged time entries; `true` when it
    builds in full. `record_kind`: the column or literal giving the kind of the rows
    filtered. -#}
{% macro reconciliation_records_in_scope(full, record_kind='record_kind') -%}
    {%- if full -%}{{ return('true') }}{%- endif -%}
    (
        coalesce({{ record_kind }}, 'expense') != 'time_entry'
        or correlation_id in {{ staged_incremental_keys() }}
    )
{%- endmacro %}

{#- Record scope of record_lags' daily run, as a select of correlation ids, or none to build
    in full. Every expense posting lag is rebuilt (fct_expenses is), and the lags of
    - the time entries fct_time_entries rebuilt (worked on or after the cutoff);
    - every record still open: its age runs with the as-of date;
    - the invoices landed since, and those billing one of those time entries or an expense
      landed since (the last approval among its records dates when it was ready). -#}
{% macro record_lags_scope_keys() -%}
    {%- set window = rebuild_window() -%}
    {%- if window is none -%}{{ return(none) }}{%- endif -%}
    {%- set since, cutoff = window -%}
    {%- set keys -%}
        with changed_invoices as ({{ changed_invoices_since(since) }}),
        rebuilt_records as (
            select correlation_id from {{ ref('fct_time_entries') }}
            where work_date >= {{ cutoff }}
            union
            select correlation_id from {{ this }}
            where is_open
        ),
        changed_approvals as (
            select correlation_id from rebuilt_records
            union
            select {{ correlation_id("'concur'", "'expense'", 'expense_source_id') }}
            from {{ ref('stg_concur__expenses') }}
            where ingested_at > {{ since }}
        )
        select correlation_id from rebuilt_records
        union
        select correlation_id from {{ ref('fct_invoices') }}
        where
            source_id in (select invoice_source_id from changed_invoices)
            or invoice_id in (
                select invoice_lines.invoice_id
                from {{ ref('fct_invoice_line_records') }} as line_records
                inner join {{ ref('fct_invoice_lines') }} as invoice_lines
                    on line_records.invoice_line_id = invoice_lines.invoice_line_id
                where line_records.correlation_id in (select correlation_id from changed_approvals)
            )
    {%- endset -%}
    {{ return(keys) }}
{%- endmacro %}

{#- The rows of record_lags a run rebuilds: every expense posting lag and the lags of the
    staged records; `true` when it builds in full. `lag_kind`: the column or literal giving
    the lag kind of the rows filtered. -#}
{% macro record_lags_in_scope(full, lag_kind='lag_kind') -%}
    {%- if full -%}{{ return('true') }}{%- endif -%}
    ({{ lag_kind }} = 'expense_posting' or correlation_id in {{ staged_incremental_keys() }})
{%- endmacro %}

{#- Month scope of project_financials_monthly's daily run: the first day of the earliest work
    or spend month whose figures may have changed (a date literal; 9999-12-31 when none), or
    none to build in full. Every month from it on is rebuilt. The earliest of
    - the time-entry chain's cutoff (fct_time_entries rebuilt the entries from it on);
    - the work date of every entry on an invoice line that bills a rebuilt entry or belongs to
      an invoice landed since: the line's amount is shared over all its entries;
    - the work date of every entry any version of such an invoice's lines billed;
    - the transaction date, in any version, of an expense landed since;
    - the work date of every entry the as-of date has reached since the last build (an entry
      known before the day it was worked counts from that day; the date moves daily when the
      var is unset);
    - the as-of date, when it moved: the as-of month's recognized revenue (retainer fees,
      with or without work) and its reporting rate move with it. `this` still holds the last build's as-of date: the post-hook moves it. -#}
{% macro project_financials_cutoff() -%}
    {%- set window = rebuild_window() -%}
    {%- if window is none -%}{{ return(none) }}{%- endif -%}
    {%- set since, cutoff = window -%}
    {%- set query -%}
        with changed_invoices as ({{ changed_invoices_since(since) }}),
        {{ records_on_changed_invoices() }},
        changed_lines as (
            select invoice_line_id from {{ ref('fct_invoice_lines') }}
            where invoice_id in (
                select {{ surrogate_key("'erp'", 'invoice_source_id') }} from changed_invoices
            )
            union
            select invoice_line_id from {{ ref('fct_invoice_lines') }}
            where {{ bills_work_from_cutoff(
                'invoice_line_id', ref('fct_invoice_line_records'), ref('fct_time_entries'), cutoff
            ) }}
        ),
        changed_expenses as (
            select expense_source_id from {{ ref('stg_concur__expenses') }}
            where ingested_at > {{ since }}
        ),
        cutoffs as (
            select {{ cutoff }} as cutoff
            union all
            select min(entries.work_date)
            from {{ ref('fct_invoice_line_records') }} as line_records
            inner join {{ ref('fct_time_entries') }} as entries
                on line_records.correlation_id = entries.correlation_id
            where line_records.invoice_line_id in (select invoice_line_id from changed_lines)
            union all
            select min(entries.work_date)
            from records_on_changed_invoices
            inner join {{ ref('fct_time_entries') }} as entries
                on records_on_changed_invoices.correlation_id = entries.correlation_id
            union all
            select min(transaction_date) from {{ ref('stg_concur__expenses') }}
            where
                expense_source_id in (select expense_source_id from changed_expenses)
                -- a date outside the history window shapes no month
                and {{ is_plausible_date('transaction_date') }}
            union all
            select min(work_date) from {{ ref('fct_time_entries') }}
            where
                work_date > (select max(as_of_date) from {{ this }})
                and work_date <= {{ as_of_date() }}
            union all
            -- the as-of month when the as-of date moved: its recognized revenue (a
            -- retainer's month without work) and that revenue's FX rate (the as-of date's)
            select {{ as_of_date() }} from {{ this }}
            having max(as_of_date) != {{ as_of_date() }}
        )
        select {{ dbt.date_trunc('month', 'min(cutoff)') }} from cutoffs
    {%- endset -%}
    {%- set month = run_query(query).columns[0].values()[0] -%}
    {{ return("date '" ~ (month.strftime('%Y-%m-%d') if month else '9999-12-31') ~ "'") }}
{%- endmacro %}

{#- `line_id_column` is a line billing an entry worked on or after `cutoff` (the line ids of
    `line_records` joined to `entries` by correlation id); `true` when the model builds in
    full. -#}
{% macro bills_work_from_cutoff(line_id_column, line_records, entries, cutoff) -%}
    {%- if cutoff is none -%}{{ return('true') }}{%- endif -%}
    {{ line_id_column }} in (
        select rebuilt.invoice_line_id
        from {{ line_records }} as rebuilt
        inner join {{ entries }} as rebuilt_entries
            on rebuilt.correlation_id = rebuilt_entries.correlation_id
        where rebuilt_entries.work_date >= {{ cutoff }}
    )
{%- endmacro %}
