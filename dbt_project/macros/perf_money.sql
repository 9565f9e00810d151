{#- Faster forms of money() and convert_money() (money.sql) for the marts that round millions
    of rows, giving the same cents.

    money() casts its expression to decimal(38, 12) before rounding, and convert_money()
    multiplies at decimal(38, 18) first. For an exact decimal of scale 12 or less neither
    changes a digit, but DuckDB does the rescaling and the rounding as 128-bit divisions,
    about a microsecond a row. These round the exact product in its own type instead:
    the same value (half away from zero, to the cent), several times faster. Decimal
    expressions only (never floats), of scale <= 12. -#}

{#- money(expression) for an exact decimal expression of scale <= 12 (hours x rate: 8). -#}
{% macro perf_money_exact(expression) -%}
    cast(round({{ expression }}, 2) as decimal(18, 2))
{%- endmacro %}

{#- convert_money(amount, rate) for an amount in cents (scale 2, as every stored amount)
    and a cross_rate() (scale 10): amount x rate is exact at scale 12. -#}
{% macro perf_convert_money(amount, rate) -%}
    {{ perf_money_exact(amount ~ " * cast(" ~ rate ~ " as decimal(28, 10))") }}
{%- endmacro %}
