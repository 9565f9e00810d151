{#- Incremental models of the time-entry chain (DECISIONLOG "Incremental by work date").

    A daily run recomputes only the time entries whose work date is on or after a cutoff: the
    earliest work date (of any exported version) of an entry with a version landed since the
    model's last build. Everything from the cutoff on is deleted and rebuilt from the
    canonical models, so set-wide rules (duplicate_entry, over_daily_limit: one person-day)
    see all their rows, and an entry moved between dates leaves no stale row behind.

    A model builds in full (rows deleted, every row inserted) whenever its result could
    change in ways the cutoff does not see: a new export of any master data (projects,
    people, contracts, rate cards, FX, mappings), a changed seed or model upstream of it,
    other vars (as-of date, reporting currency), or, for the models downstream of
    its staging (the facts, the record-scoped marts), a change in the billing outbox (a batch
    frozen or changing status). Macros are not fingerprinted: after changing one, build with
    --full-refresh. The state of each build
    (fingerprint of those inputs, landed data it has seen) is `ops.dbt_incremental_state`,
    one row per build, written in the model's transaction.

    Use in a model:
        config(materialized='incremental', incremental_strategy='append',
               pre_hook="{{ delete_incremental_scope('<scope predicate macro call>') }}",
               post_hook="{{ record_incremental_state() }}")
    and filter the model's rows with the same scope predicate when `incremental_cutoff()` is
    not none, so what is deleted is exactly what is inserted again. -#}

{#- The vars a record-level model's rows depend on (a change rebuilds in full). A null
    as_of_date (today) fingerprints as None though today moves: these rows depend on the
    as-of date only through whether a stamped event had happened by then, and no landed
    file holds an event after the day it landed, so a later today changes only rows of
    entries the cutoff already sees. -#}
{% macro incremental_vars() -%}
    {{ return(['as_of_date', 'reporting_currency', 'fx_base_currency']) }}
{%- endmacro %}

{#- on-run-start: the build log the incremental models read and append to, pruned. -#}
{% macro create_incremental_state() -%}
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
    where (model_name, built_at) in (
        select (model_name, built_at) from ops.dbt_incremental_state
        qualify row_number() over (partition by model_name order by built_at desc) > 100
    )
{%- endmacro %}

{#- The raw tables (existing ones) of the project's sources, split by kind. -#}
{% macro _raw_relations(kind) -%}
    {%- set relations = [] -%}
    {%- for source_node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if source_node.schema == 'raw' -%}
            {#- sources of activity say so (meta d2b_data: activity); the rest is master data -#}
            {%- set is_activity = source_node.meta.get('d2b_data') == 'activity' -%}
            {%- if kind == 'all' or (kind == 'activity') == is_activity -%}
                {%- set relation = adapter.get_relation(
                    database=source_node.database,
                    schema=source_node.schema,
                    identifier=source_node.identifier
                ) -%}
                {%- if relation is not none -%}{%- do relations.append(relation) -%}{%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#- The latest `_ingested_at` over raw tables of a kind ('master', 'activity' or 'all'). -#}
{% macro _raw_ingested_through(kind) -%}
    {%- set relations = _raw_relations(kind) -%}
    {%- if not relations -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
        select max(ingested_through) from (
        {%- for relation in relations %}
            select max(_ingested_at) as ingested_through from {{ relation }}
            {{- " union all" if not loop.last }}
        {%- endfor %}
        )
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}

{#- The models, seeds and snapshots upstream of this model, by unique id. -#}
{% macro _upstream_nodes() -%}
    {%- set queue = [model.unique_id] -%}
    {#- breadth-first over depends_on; the queue grows while it is walked -#}
    {%- for position in range(graph.nodes | length) -%}
        {%- if position < queue | length -%}
            {%- set node = graph.nodes.get(queue[position]) -%}
            {%- for parent in (node.depends_on.nodes if node else []) -%}
                {%- if parent in graph.nodes and parent not in queue -%}
                    {%- do queue.append(parent) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(queue | sort) }}
{%- endmacro %}

{#- What a full rebuild depends on besides activity: vars, the code of the model and of
    everything upstream (models, seeds, snapshots), master data, and for the models
    downstream of the billing outbox's staging, the outbox. -#}
{% macro incremental_fingerprint() -%}
    {%- set parts = [] -%}
    {%- for name in incremental_vars() -%}
        {%- do parts.append(name ~ '=' ~ var(name, none)) -%}
    {%- endfor -%}
    {%- set upstream = _upstream_nodes() -%}
    {%- for unique_id in upstream -%}
        {%- do parts.append(unique_id ~ '=' ~ graph.nodes[unique_id].checksum.checksum) -%}
    {%- endfor -%}
    {%- do parts.append('master=' ~ _raw_ingested_through('master')) -%}
    {#- the outbox only for the models that read it (a billing run changes no other) -#}
    {%- set reads_outbox = [] -%}
    {%- for unique_id in upstream if unique_id.split('.')[-1].startswith('stg_ops__erp_outbox') -%}
        {%- do reads_outbox.append(unique_id) -%}
    {%- endfor -%}
    {#- the records frozen into batches, and each batch's status (every change of a batch
        stamps its updated_at: a batch that goes to dead_letter changes no correlation) -#}
    {%- for table, state in [
        ('erp_outbox_correlations', 'count(*), max(batch_key), min(batch_key)'),
        ('erp_outbox', 'count(*), max(updated_at)'),
    ] if reads_outbox -%}
        {%- set outbox = adapter.get_relation(
            database=target.database, schema='ops', identifier=table
        ) -%}
        {%- if outbox is not none -%}
            {%- set outbox_state = run_query('select ' ~ state ~ ' from ' ~ outbox).rows[0] -%}
            {%- do parts.append(table ~ '=' ~ (outbox_state | join('/'))) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('|'))) }}
{%- endmacro %}

{#- The last build of this model, as a row (fingerprint, ingested_through), or none. -#}
{% macro _last_incremental_state() -%}
    {%- set query -%}
        select fingerprint, ingested_through
        from ops.dbt_incremental_state
        where model_name = '{{ this.identifier }}'
        order by built_at desc
        limit 1
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {{ return(rows[0] if rows else none) }}
{%- endmacro %}

{#- The landed-data watermark this model may build on incrementally, or none (build in
    full: first build, --full-refresh, or a changed fingerprint). `fingerprint`: this
    model's, when the caller has it already. -#}
{% macro incremental_watermark(fingerprint=none) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set state = _last_incremental_state() -%}
    {%- if state is none or state[1] is none -%}{{ return(none) }}{%- endif -%}
    {%- if state[0] != (fingerprint or incremental_fingerprint()) -%}{{ return(none) }}{%- endif -%}
    {{ return(state[1]) }}
{%- endmacro %}

{#- The ids of ERP invoices with an export (of the invoice or a line, legacy or read back
    from the write-back) landed after `since` (a timestamp literal), as a select. -#}
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
{%- endmacro %}

{#- The earliest work date a run must rebuild (a date literal), or none to build in full.
    `with_billing`: also the entries on ERP invoices landed since, and those
    `invoiced_entries` (default: the model itself, with fct_time_entries' invoice_id) showed
    on them (a line removed from an invoice). `watermark`: this model's, when the caller has
    it already. -#}
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

{#- post-hook: log this build (same transaction as its rows). -#}
{% macro record_incremental_state() -%}
    {%- if execute -%}
        {%- set through = _raw_ingested_through('all') -%}
        {%- set fingerprint = incremental_fingerprint() -%}
        insert into ops.dbt_incremental_state
        values (
            '{{ this.identifier }}',
            '{{ fingerprint }}',
            '{{ "full" if incremental_watermark(fingerprint) is none else "incremental" }}',
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
        or (source_system, source_id) not in (
            select (source_system, source_id) from {{ ref('fct_time_entries') }}
            where work_date < {{ cutoff }}
        )
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
    (source_system, source_id) in (
        select (source_system, source_id) from {{ relation }}
        where work_date >= {{ cutoff }}
    )
{%- endmacro %}
