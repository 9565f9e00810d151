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

{#- The missing_fx_rate rule, the same for every record that converts money (time entries,
    expenses, invoices; docs/design.md §3): a conversion the record needs whose rate is null
    (int_fx_rates_daily has no rate for one of its currencies on the record's date) makes the
    record a missing_fx_rate exception (finance), one row per record naming the first such
    conversion. The record stays in its fact with its own amounts; the converted amount is
    null, so billing holds it and the queue says why, instead of a total dropping it unseen.
    `conversions`: a list of dicts with `from` and `to` (currency expressions), `rate` (the
    rate expression, null when missing) and optionally `needed` (when the record needs it). -#}
{% macro missing_fx_rate_exceptions(records, id_columns, on_date, conversions) -%}
    {%- set ids = id_columns | join(', ') %}
    select
        {{ ids }},
        'missing_fx_rate' as reason,
        min(detail) as detail
    from (
        {%- for conversion in conversions %}
        select
            {{ ids }},
            'no FX rate from ' || {{ conversion['from'] }} || ' to ' || {{ conversion['to'] }}
            || ' on ' || cast({{ on_date }} as {{ dbt.type_string() }}) as detail
        from {{ records }}
        where
            {{ conversion['rate'] }} is null
            and {{ conversion.get('needed', 'true') }}
        {{- "\n        union all" if not loop.last }}
        {%- endfor %}
    ) as missing
    group by {{ ids }}
{%- endmacro %}
