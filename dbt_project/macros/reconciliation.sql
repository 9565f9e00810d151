{#- Macros of the reconciliation marts (models/marts/reconciliation): the business-day clock
    of the lags, their quantiles and summary measures, and the billing period of an invoice. -#}

{#- The SLA clock of docs/design.md §4: business days are the Monday-to-Friday days in
    (start date, finish date] that are not non-working dates of the record's legal entity in
    the firm's config/business_calendars. Weekdays in closed form instead of a calendar join,
    so a lag costs two date differences on any engine, whatever the number of rows; only the
    (few) non-working dates are looked up. The sample firm's calendar is empty, so its clock is
    docs/generator.md's ground truth: Monday to Friday. -#}

{#- Mon-Fri days from Monday 1900-01-01 through `date_expression`: five per whole week, plus
    the leftover days of the last, partial week, at most five of them. Only dbt's
    cross-database datediff and standard arithmetic (floor, least), no engine's modulo or
    integer division. -#}
{% macro weekdays_through(date_expression) -%}
    {%- set days = "(" ~ dbt.datediff("cast('1900-01-01' as date)", date_expression, "day") ~ " + 1)" -%}
    cast(
        floor({{ days }} / 7.0) * 5
        + least({{ days }} - floor({{ days }} / 7.0) * 7, 5)
        as {{ dbt.type_int() }}
    )
{%- endmacro %}

{#- Whether a date is a Monday to Friday (it adds a weekday to the count through it). -#}
{% macro is_weekday(date_expression) -%}
    ({{ weekdays_through(date_expression) }}
    > {{ weekdays_through(dbt.dateadd('day', -1, date_expression)) }})
{%- endmacro %}

{#- The digits 0 to 9 as a relation (column `digit`): cross joined, a small series of
    numbers on any engine. -#}
{% macro digits() -%}
    (
        {%- for digit in range(10) %}
        select {{ digit }} as digit{{ " union all" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- Business days in (start_date, finish_date]: 0 when both fall on the same day or the finish
    is the weekend after a Friday start; null when either date is null. With `legal_entity`,
    the entity's non-working weekdays in that range do not count (a record without an entity
    runs on Monday to Friday). A finish before the start (a source stamped backwards) counts
    the same days negative: business_days(a, b) = -business_days(b, a). -#}
{% macro business_days(start_date, finish_date, legal_entity=none) -%}
    ({{ weekdays_through(finish_date) }} - {{ weekdays_through(start_date) }}
    {%- if legal_entity is not none %}
        - case when {{ finish_date }} >= {{ start_date }} then 1 else -1 end
        * {{ non_working_weekdays(
            legal_entity,
            'least(' ~ start_date ~ ', ' ~ finish_date ~ ')',
            'greatest(' ~ start_date ~ ', ' ~ finish_date ~ ')'
        ) }}
    {%- endif %})
{%- endmacro %}

{#- How many of `legal_entity`'s non-working dates (config/business_calendars) fall on a
    weekday in (start_date, finish_date]: a weekend date is not a business day anyway. -#}
{% macro non_working_weekdays(legal_entity, start_date, finish_date) -%}
    (
        select count(*)
        from {{ ref('stg_config__business_calendars') }} as calendar
        where
            calendar.legal_entity = {{ legal_entity }}
            and calendar.non_working_date > {{ start_date }}
            and calendar.non_working_date <= {{ finish_date }}
            and {{ is_weekday('calendar.non_working_date') }}
    )
{%- endmacro %}

{#- Continuous quantile (linear interpolation between the two nearest values) of an
    aggregate's input, nulls ignored: the median and p90 of the lags. dbt has no
    cross-database macro for it; the SQL standard's ordered-set form is the default. -#}
{% macro quantile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('quantile_cont')(expression, fraction)) }}
{%- endmacro %}

{% macro default__quantile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__quantile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- The measures of a group of record_lags rows (lag_summary, lag_summary_monthly): finished
    and open counts, median and p90 of the finished lags in days and business days, SLA
    breaches among the finished and open records already past their SLA. -#}
{% macro lag_measures() -%}
    count(case when not is_open then 1 end) as measured_count,
    count(case when is_open then 1 end) as open_count,
    {{ quantile_cont('lag_days', 0.5) }} as median_days,
    {{ quantile_cont('lag_days', 0.9) }} as p90_days,
    {{ quantile_cont('lag_business_days', 0.5) }} as median_business_days,
    {{ quantile_cont('lag_business_days', 0.9) }} as p90_business_days,
    count(case when not is_open and is_sla_breach then 1 end) as sla_breach_count,
    count(case when is_open and is_sla_breach then 1 end) as open_past_sla_count
{%- endmacro %}

{#- The last day of the billing period an ERP invoice bills (monthly billing). The legacy ERP
    invoices a month a few days after it ends: the month before the invoice date. An invoice
    Deliver-to-Bill wrote back is dated at the end of its billing period (erp/candidates.py):
    the month of the invoice date. -#}
{% macro invoice_period_end(invoice_date, invoice_origin) -%}
    cast(
        case
            when {{ invoice_origin }} = 'write_back'
                then {{ dbt.last_day(invoice_date, 'month') }}
            else {{ dbt.dateadd('day', -1, dbt.date_trunc('month', invoice_date)) }}
        end as date
    )
{%- endmacro %}

{#- One row per lag kind with its SLA in business days (the firm's config/sla_thresholds
    sla_<lag kind>_business_days). -#}
{% macro sla_thresholds() -%}
    {%- for lag_kind in ['time_approval', 'expense_posting', 'invoice_release'] %}
    select
        '{{ lag_kind }}' as lag_kind,
        {{ firm_threshold('sla_' ~ lag_kind ~ '_business_days') }} as sla_business_days
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}
