{#- The as-of date of the marts (docs/design.md §4): var as_of_date, else today. -#}
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

{#- Whether an event stamped `column` had happened by the end of the as-of date. Staging
    applies it to the stamp that dates each exported version (a time entry's updated_at, an
    SAE batch date, an invoice's creation), so a rebuild for a past date sees only what the
    sources knew then, however many later files have landed since (docs/design.md §4). -#}
{% macro known_at_as_of(column) -%}
    ({{ column }} < {{ as_of_end() }})
{%- endmacro %}

{#- The order that picks a record's version as of the as-of date (first = chosen): the
    latest version updated by then; for a record created by then but exported only later,
    its earliest version. Used by the models and by the tie-outs that check them. -#}
{% macro as_of_version_order(updated_at) -%}
    case when {{ known_at_as_of(updated_at) }} then 0 else 1 end,
    case when {{ known_at_as_of(updated_at) }} then {{ updated_at }} end desc,
    {{ updated_at }}
{%- endmacro %}

{#- Whether a billing hold or waiver is in force on the as-of date: not lifted, and not yet
    expired (it ends at the start of its expiry day; docs/erp.md "The release gate and holds"). -#}
{% macro in_force_at_as_of(lifted_at, expires_on) -%}
    ({{ lifted_at }} is null and {{ expires_on }} > {{ as_of_date() }})
{%- endmacro %}
