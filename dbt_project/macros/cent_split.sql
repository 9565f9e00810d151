{#- The largest-remainder split of a whole number of cents over weighted rows, in the contract
    and the reporting currency at once: an invoice line over the entries it bills, a
    contract's recognized revenue of a month over its projects and workers. Each row takes the
    floor of its share, then the cents left go one each to the largest fractions, so the shares
    add up exactly. Exact integer arithmetic (integer_divide): amounts and weights are not
    negative. Three steps, each the select list of a CTE over the one before. -#}

{#- Step 1: `cents_floor` and `cents_fraction` (a numerator over `total`) of each share
    `weight / total` of `cents`, and the same with `reporting_` for `reporting_cents`; the
    fraction by subtraction rather than a second 128-bit division (`%`). -#}
{% macro cent_share_floors(cents, reporting_cents, weight='weight', total='total_weight') -%}
    {%- for prefix, amount in [('', cents), ('reporting_', reporting_cents)] %}
    {{ integer_divide(amount ~ ' * ' ~ weight, total) }} as {{ prefix }}cents_floor,
    {{ amount }} * {{ weight }}
    - {{ integer_divide(amount ~ ' * ' ~ weight, total) }} * {{ total }}
        as {{ prefix }}cents_fraction{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Step 2: the cents the floors of each split (rows of one `partition`) leave, and each
    row's rank for them: the largest fraction first, then `tie_break`. -#}
{% macro cent_share_ranks(cents, reporting_cents, partition, tie_break) -%}
    {{ cents }} - sum(cents_floor) over (partition by {{ partition }}) as cents_left,
    {{ reporting_cents }} - sum(reporting_cents_floor) over (partition by {{ partition }})
        as reporting_cents_left,
    {%- for prefix in ['', 'reporting_'] %}
    row_number() over (
        partition by {{ partition }} order by {{ prefix }}cents_fraction desc, {{ tie_break }}
    ) as {{ prefix }}cents_rank{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Step 3: a row's share in cents (`prefix` '' or 'reporting_'), with the sign of
    `signed_amount`. -#}
{% macro cent_share(signed_amount, prefix='') -%}
    sign({{ signed_amount }}) * (
        {{ prefix }}cents_floor
        + case when {{ prefix }}cents_rank <= {{ prefix }}cents_left then 1 else 0 end
    )
{%- endmacro %}
