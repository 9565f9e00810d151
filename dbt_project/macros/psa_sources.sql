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
    each row once (rows of two PSAs differ in source_system). -#}
{% macro union_psa_staging(entity, columns, property=none, distinct=false) -%}
    {%- for psa in psa_sources(property) %}
    select {{- ' distinct' if distinct }}
        '{{ psa.name }}' as source_system,
        {{ columns | join(',\n        ') }}
    from {{ ref('stg_' ~ psa.name ~ '__' ~ entity) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
