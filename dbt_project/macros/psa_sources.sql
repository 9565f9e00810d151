{#- The PSAs of var psa_sources (dbt_project.yml), the one list of them. -#}

{#- The PSAs, optionally only those whose entry in the list has `property` true. -#}
{% macro psa_sources(property=none) -%}
    {%- set sources = [] -%}
    {%- for psa in var('psa_sources') if property is none or psa.get(property, false) -%}
        {%- do sources.append(psa) -%}
    {%- endfor -%}
    {{ return(sources) }}
{%- endmacro %}

{#- A union all of `columns` of staging model stg_<psa>__<entity> of every PSA (of those
    with `property`, when given), each row with its PSA as source_system. Every PSA's model
    has the same canonical columns (its contract), so the union lists them once. `distinct`:
    each row once (rows of two PSAs differ in source_system).
    `columns` is a list of names, or a mapping of name to SQL type: with a mapping, when no
    PSA has `property` the union is the typed empty relation of those columns, so a caller
    never branches on which PSAs export an entity. -#}
{% macro union_psa_staging(entity, columns, property=none, distinct=false) -%}
    {%- set sources = psa_sources(property) -%}
    {%- if not sources and columns is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "union_psa_staging('" ~ entity ~ "'): no PSA in var psa_sources"
            ~ (" has " ~ property if property else "")
            ~ "; give columns as a mapping of name to type for the empty relation"
        ) }}
    {%- endif -%}
    {%- for psa in sources %}
    select {{- ' distinct' if distinct }}
        '{{ psa.name }}' as source_system,
        {{ columns | list | join(',\n        ') }}
    from {{ ref('stg_' ~ psa.name ~ '__' ~ entity) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        cast(null as {{ type_text() }}) as source_system,
        {%- for name, type in columns.items() %}
        cast(null as {{ column_type(type) }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    where false
    {%- endfor %}
{%- endmacro %}
