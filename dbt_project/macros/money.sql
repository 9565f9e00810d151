{#- Money and FX helpers (docs/design.md §3: decimals, never floats). -#}

{#- Round to cents, half away from zero (half-up for the positive amounts billed), as a
    decimal: every stored amount passes through here once, at the grain it is stored. -#}
{% macro money(expression) -%}
    cast(round(cast({{ expression }} as decimal(38, 12)), 2) as decimal(18, 2))
{%- endmacro %}

{#- The rate that turns one unit of a currency into another, from two rates quoted in the
    reporting currency (USD per unit, erp/fx_rates), fixed to 10 decimal places so that the
    conversion itself is decimal arithmetic (engines divide decimals in floating point). -#}
{% macro cross_rate(from_usd_per_unit, to_usd_per_unit) -%}
    cast(
        cast({{ from_usd_per_unit }} as decimal(28, 10))
        / cast({{ to_usd_per_unit }} as decimal(28, 10))
        as decimal(28, 10)
    )
{%- endmacro %}

{#- money() for an exact decimal expression of scale 12 or less (hours x rate: 8), for the
    marts that round millions of rows. money() rescales to decimal(38, 12) first, which
    changes no digit of such a value but costs DuckDB a 128-bit division a row; this rounds
    the exact value in its own type instead: the same cents, several times faster. Never
    for floats. -#}
{% macro exact_money(expression) -%}
    cast(round({{ expression }}, 2) as decimal(18, 2))
{%- endmacro %}

{#- amount x rate, rounded to cents: every currency conversion of the marts. -#}
{% macro convert_money(amount, rate) -%}
    {{ money("cast(" ~ amount ~ " as decimal(28, 8)) * cast(" ~ rate ~ " as decimal(28, 10))") }}
{%- endmacro %}

{#- convert_money() for an amount in cents (scale 2, as every stored amount) and a
    cross_rate() (scale 10): their product is exact at scale 12, so exact_money() rounds it. -#}
{% macro convert_exact_money(amount, rate) -%}
    {{ exact_money(amount ~ " * cast(" ~ rate ~ " as decimal(28, 10))") }}
{%- endmacro %}
