{#- One row per element of a delimited list column (ERP invoice lines list the records they
    bill as `harvest:<id>;toggl:<id>;concur:<id>`). dbt has no cross-database macro for
    this, so it is dispatched per engine. -#}
{% macro split_to_rows(column, delimiter) -%}
    {{ return(adapter.dispatch('split_to_rows')(column, delimiter)) }}
{%- endmacro %}

{% macro default__split_to_rows(column, delimiter) -%}
    unnest(string_split({{ column }}, '{{ delimiter }}'))
{%- endmacro %}

{% macro postgres__split_to_rows(column, delimiter) -%}
    regexp_split_to_table({{ column }}, '{{ delimiter }}')
{%- endmacro %}

{#- One row per element of a list (array) column: the correlation ids of a written-back
    ERP invoice line. -#}
{% macro split_list_to_rows(column) -%}
    {{ return(adapter.dispatch('split_list_to_rows')(column)) }}
{%- endmacro %}

{% macro default__split_list_to_rows(column) -%}
    unnest({{ column }})
{%- endmacro %}
