{#- The as-of date of the marts (DESIGN §4): var as_of_date, else today. -#}
{% macro as_of_date() -%}
    {%- set value = var("as_of_date", none) -%}
    {%- if value is none or value == "" -%}
        current_date
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The instant the as-of date ends: records stamped before it count as known on that date. -#}
{% macro as_of_end() -%}
    cast({{ dbt.dateadd("day", 1, as_of_date()) }} as timestamp)
{%- endmacro %}
