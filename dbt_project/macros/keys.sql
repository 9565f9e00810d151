{#- Deterministic keys built from cross-database macros, so they are the same on every
    engine the project targets (docs/design.md §7). -#}

{% macro hash_key(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(expression, api.Column.translate_type("string")) ~ ", '∅')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- correlation_id: travels with a source record from the PSA or expense tool to the ERP
    invoice line that bills it (docs/design.md §3). -#}
{% macro correlation_id(source_system, record_kind, source_id) -%}
    {{ hash_key([source_system, record_kind, source_id]) }}
{%- endmacro %}

{#- Surrogate key of a record of a source system (docs/design.md §3): hash of the system and the
    record's id there; null when the id is null, so a missing reference stays missing
    instead of pointing at a row that does not exist. -#}
{% macro surrogate_key(source_system, source_id) -%}
    case when {{ source_id }} is not null then {{ hash_key([source_system, source_id]) }} end
{%- endmacro %}
