{#- Incremental models of the time-entry chain (DECISIONLOG "Incremental by work date").

    A daily run recomputes only the time entries whose work date is on or after a cutoff: the
    earliest work date (of any exported version) of an entry with a version landed since the
    model's last build. Everything from the cutoff on is deleted and rebuilt from the
    canonical models, so set-wide rules (duplicate_entry, over_daily_limit: one person-day)
    see all their rows, and an entry moved between dates leaves no stale row behind.

    Whether a model builds in full or incrementally, and from which landed-data watermark,
    is decided before the build in Python (d2b/incremental.py, from dbt's manifest and the
    warehouse's watermarks: vars, the code and the macros of the model and its upstream,
    master data, the billing outbox) and handed to dbt as the plan (incremental_plan()).
    These macros keep only the row predicates: from the watermark, the cutoff and the rows
    to delete and insert again. Without a plan (a `dbt build` by hand) every incremental
    model builds in full. Each build is logged in `ops.dbt_incremental_state` (fingerprint
    and watermark from the plan), one row per build, written in the model's transaction.

    Use in a model:
        config(materialized='incremental', incremental_strategy='append',
               pre_hook="{{ delete_incremental_scope('<scope predicate macro call>') }}",
               post_hook="{{ record_incremental_state() }}")
    and filter the model's rows with the same scope predicate when `incremental_cutoff()` is
    not none, so what is deleted is exactly what is inserted again. -#}

{#- on-run-start: the build log the incremental models read and append to, pruned. -#}
{% macro create_incremental_state() -%}
    {{ return(adapter.dispatch('create_incremental_state')()) }}
{%- endmacro %}

{#- Spark runs one statement per call and its Parquet tables have no DELETE: the log is
    created there unpruned (a Spark build is a full refresh today, docs/scale.md); the
    scope table is created here, the log is the hook's own statement. -#}
{% macro spark__create_incremental_state() -%}
    {%- if execute -%}
        {%- do run_query('create database if not exists ops') -%}
        {%- do run_query(
            'create table if not exists ops.dbt_incremental_scope'
            ~ ' (model_name string, scope_key string) using parquet'
        ) -%}
    {%- endif -%}
    create table if not exists ops.dbt_incremental_state (
        model_name string,
        fingerprint string,
        build_kind string,
        ingested_through timestamp,
        built_at timestamp
    ) using parquet
{%- endmacro %}

{% macro default__create_incremental_state() -%}
    create schema if not exists ops;
    create table if not exists ops.dbt_incremental_state (
        model_name varchar not null,
        fingerprint varchar not null,
        -- 'incremental' (rows from the cutoff rebuilt) or 'full'
        build_kind varchar not null,
        ingested_through timestamp,
        built_at timestamp not null
    );
    -- the keys a record-scoped model rebuilds in its current run (stage_incremental_keys)
    create table if not exists ops.dbt_incremental_scope (
        model_name varchar not null,
        scope_key varchar not null
    );
    -- only each model's latest build is read: keep its last 100 as a history, drop the rest
    delete from ops.dbt_incremental_state
    where {{ row_in(
        ['model_name', 'built_at'],
        'from (select model_name, built_at, row_number() over ('
        ~ 'partition by model_name order by built_at desc) as build_rank'
        ~ ' from ops.dbt_incremental_state) as builds where build_rank > 100'
    ) }}
{%- endmacro %}

{#- This model's entry of the incremental plan (d2b/incremental_plan.py), or none when the
    build was started without a plan (a `dbt build` by hand): {build: full|incremental,
    fingerprint, since, ingested_through}. Read only while executing, so the plan, which
    changes every run, never enters dbt's parse. -#}
{% macro incremental_plan() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set plans = fromjson(env_var('DBT_INCREMENTAL_PLAN', '{}')) -%}
    {{ return(plans.get(this.identifier)) }}
{%- endmacro %}

{#- The landed-data watermark this model builds on incrementally (a timestamp as text), or
    none to build in full: the plan says full or is absent, the table does not exist yet, or
    --full-refresh. -#}
{% macro incremental_watermark() -%}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set plan = incremental_plan() -%}
    {%- if plan is none or plan.build != 'incremental' -%}{{ return(none) }}{%- endif -%}
    {{ return(plan.since) }}
{%- endmacro %}

{#- The ids of ERP invoices with an export (of the invoice or a line, legacy or read back
    from the write-back) or an ERP feedback reading landed after `since` (a timestamp
    literal), as a select. -#}
{% macro changed_invoices_since(since) -%}
    select invoice_source_id from {{ ref('stg_erp__invoices') }}
    where ingested_at > {{ since }}
    union
    select invoice_source_id from {{ ref('stg_erp__invoice_lines') }}
    where ingested_at > {{ since }}
    union
    select invoice_source_id from {{ ref('stg_erp_api__invoices') }}
    where ingested_at > {{ since }}
    union
    select invoice_source_id from {{ ref('stg_erp_api__invoice_lines') }}
    where ingested_at > {{ since }}
    union
    -- a new ERP feedback reading (state, due date, payments) of a write-back invoice
    select invoice_source_id from {{ ref('stg_erp_api__invoice_status') }}
    where read_at > {{ since }}
{%- endmacro %}

{#- The earliest work date a run must rebuild (a date literal), or none to build in full.
    `with_billing`: also the entries on ERP invoices landed since, and those
    `invoiced_entries` (default: the model itself, with fct_time_entries' invoice_id) showed
    on them (a line removed from an invoice). `watermark`: this model's, when the caller has
    it already.
    Queried here, while the build runs, not in the plan before it (DECISIONLOG "One place per
    concept: what remained"): it reads tables the same build has just rewritten, before the
    model that asks runs (fct_time_entries for fct_lifecycle_events; int_time_entries_rated,
    also through int_invoice_line_records, for the billing part). The plan gives the
    watermark; this macro only turns it into the rows to rebuild. -#}
{% macro incremental_cutoff(with_billing=false, invoiced_entries=none, watermark=none) -%}
    {%- set watermark = watermark or incremental_watermark() -%}
    {%- if watermark is none -%}{{ return(none) }}{%- endif -%}
    {%- set since = "cast('" ~ watermark ~ "' as timestamp)" -%}
    {%- set query -%}
        with changed_entries as (
            select source_system, source_id
            from {{ ref('int_time_entry_versions') }}
            where ingested_at > {{ since }}
        ),
        versions as (
            select source_system, source_id, work_date
            from {{ ref('int_time_entry_versions') }}
        ),
        {%- if with_billing %}
        changed_invoices as ({{ changed_invoices_since(since) }}),
        {%- endif %}
        cutoffs as (
            select min(versions.work_date) as cutoff
            from versions
            inner join changed_entries
                on
                    versions.source_system = changed_entries.source_system
                    and versions.source_id = changed_entries.source_id
        {%- if with_billing %}
            union all
            select min(entries.work_date) as cutoff
            from {{ ref('int_invoice_line_records') }} as records
            inner join {{ ref('int_time_entries_rated') }} as entries
                on
                    records.record_system = entries.source_system
                    and records.record_source_id = entries.source_id
            where
                records.record_kind = 'time_entry'
                and records.invoice_source_id in (select invoice_source_id from changed_invoices)
            union all
            select min(work_date) as cutoff
            from {{ invoiced_entries or this }}
            where invoice_id in (
                select {{ surrogate_key("'erp'", 'invoice_source_id') }} from changed_invoices
            )
        {%- endif %}
        )
        select coalesce(min(cutoff), date '9999-12-31') from cutoffs
    {%- endset -%}
    {%- set cutoff = run_query(query).columns[0].values()[0] -%}
    {{ return("date '" ~ cutoff ~ "'") }}
{%- endmacro %}

{#- pre-hook: delete the rows the run rebuilds over an existing table. `scope` is a SQL
    predicate over the model's rows; the scope macros below give `true` when the cutoff is
    none, so a full build deletes every row. -#}
{% macro delete_incremental_scope(scope) -%}
    {%- if execute and is_incremental() -%}
        delete from {{ this }} where {{ scope }}
    {%- endif -%}
{%- endmacro %}

{#- pre-hook of a record-scoped model, before delete_incremental_scope: stage the keys of the
    records the run rebuilds (`keys`: a select of one column, none when the model builds in
    full) in ops.dbt_incremental_scope. The keys may be derived from the rows the run is about
    to delete; staged once, the delete and the insert (staged_incremental_keys) see the same
    set. -#}
{% macro stage_incremental_keys(keys) -%}
    {%- if execute and is_incremental() -%}
        delete from ops.dbt_incremental_scope where model_name = '{{ this.identifier }}';
        {%- if keys is not none %}
        insert into ops.dbt_incremental_scope
        select distinct '{{ this.identifier }}', scope_key
        from ({{ keys }}) as staged (scope_key)
        where scope_key is not null
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The keys stage_incremental_keys staged for this model's run, as a subquery. -#}
{% macro staged_incremental_keys() -%}
    (select scope_key from ops.dbt_incremental_scope where model_name = '{{ this.identifier }}')
{%- endmacro %}

{#- post-hook of a model with a per-row as_of_date: the rows a daily run kept get the run's
    as-of date (it moves with today when the var is unset; a set var that changes rebuilds
    in full through the fingerprint). -#}
{% macro refresh_as_of_date() -%}
    {%- if execute and is_incremental() -%}
        update {{ this }} set as_of_date = {{ as_of_date() }}
        where as_of_date != {{ as_of_date() }}
    {%- endif -%}
{%- endmacro %}

{#- post-hook: log this build (same transaction as its rows): the fingerprint and watermark
    the plan gave it; a build without a plan records none, so the next planned build is full. -#}
{% macro record_incremental_state() -%}
    {%- if execute -%}
        {%- set plan = incremental_plan() or {} -%}
        {%- set through = plan.get('ingested_through') -%}
        insert into ops.dbt_incremental_state
        values (
            '{{ this.identifier }}',
            '{{ plan.get('fingerprint') or 'unplanned' }}',
            '{{ "full" if incremental_watermark() is none else "incremental" }}',
            {{ "cast('" ~ through ~ "' as timestamp)" if through is not none else "null" }},
            {{ dbt.current_timestamp() }}
        )
    {%- endif -%}
{%- endmacro %}


{#- Scope predicate of fct_lifecycle_events: every event of expenses and invoices, and those
    of time entries other than the ones worked before `cutoff` (fct_time_entries is rebuilt
    before it; billed records unknown to the warehouse stay in scope). -#}
{% macro lifecycle_events_from_cutoff(cutoff) -%}
    {%- if cutoff is none -%}{{ return('true') }}{%- endif -%}
    (
        record_kind != 'time_entry'
        or {{ row_in(
            ['source_system', 'source_id'],
            'from ' ~ ref('fct_time_entries') ~ ' where work_date < ' ~ cutoff,
            negate=true
        ) }}
    )
{%- endmacro %}

{#- `column >= cutoff`, or `true` when the model builds in full (cutoff none). -#}
{% macro on_or_after_cutoff(column, cutoff) -%}
    {{- column ~ ' >= ' ~ cutoff if cutoff is not none else 'true' -}}
{%- endmacro %}

{#- On a daily run, the rows of `relation` (keyed by source_system, source_id) of the entries
    with a row worked on or after `cutoff`; `true` when the model builds in full. -#}
{% macro entries_from_cutoff(relation, cutoff) -%}
    {%- if cutoff is none -%}{{ return('true') }}{%- endif -%}
    {{ row_in(
        ['source_system', 'source_id'],
        'from ' ~ relation ~ ' where work_date >= ' ~ cutoff
    ) }}
{%- endmacro %}
