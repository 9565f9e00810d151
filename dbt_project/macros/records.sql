{#- One row per element of a delimited list column (ERP invoice lines list the records they
    bill as `<system>:<id>;<system>:<id>`), each element trimmed. dbt has no cross-database
    macro for this, so it is dispatched per engine. -#}
{% macro split_to_rows(column, delimiter) -%}
    {{ return(adapter.dispatch('split_to_rows')(column, delimiter)) }}
{%- endmacro %}

{% macro default__split_to_rows(column, delimiter) -%}
    trim(unnest(string_split({{ column }}, '{{ delimiter }}')))
{%- endmacro %}

{% macro postgres__split_to_rows(column, delimiter) -%}
    trim(regexp_split_to_table({{ column }}, '{{ delimiter }}'))
{%- endmacro %}

{#- Spark allows no generator inside another expression: the elements are trimmed before
    they are exploded; split() takes a regular expression, the class quotes the delimiter. -#}
{% macro spark__split_to_rows(column, delimiter) -%}
    explode(transform(split({{ column }}, '[{{ delimiter }}]'), element -> trim(element)))
{%- endmacro %}

{#- One row per element of a list (array) column: the correlation ids of a written-back
    ERP invoice line. -#}
{% macro split_list_to_rows(column) -%}
    {{ return(adapter.dispatch('split_list_to_rows')(column)) }}
{%- endmacro %}

{% macro default__split_list_to_rows(column) -%}
    unnest({{ column }})
{%- endmacro %}

{% macro spark__split_list_to_rows(column) -%}
    explode({{ column }})
{%- endmacro %}

{#- The kind of record an ERP invoice line's reference (`<system>:<id>`) names. -#}
{% macro billed_record_kind(record_system) -%}
    case {{ record_system }} when 'concur' then 'expense' else 'time_entry' end
{%- endmacro %}

{#- The correlation id of the record an ERP invoice line's reference names. -#}
{% macro record_ref_correlation_id(record_ref) -%}
    {%- set record_system = dbt.split_part(record_ref, "':'", 1) -%}
    {{ correlation_id(
        record_system, billed_record_kind(record_system), dbt.split_part(record_ref, "':'", 2)
    ) }}
{%- endmacro %}
