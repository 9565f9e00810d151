{#- Deterministic keys built from cross-database macros, so they are the same on every
    engine the project targets (DESIGN §7). -#}

{% macro hash_key(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(expression, api.Column.translate_type("string")) ~ ", '∅')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- correlation_id: travels with a source record from the PSA or expense tool to the ERP
    invoice line that bills it (DESIGN §3). -#}
{% macro correlation_id(source_system, record_kind, source_id) -%}
    {{ hash_key([source_system, record_kind, source_id]) }}
{%- endmacro %}
