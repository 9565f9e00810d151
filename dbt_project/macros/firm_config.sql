{#- The firm's own configuration (models/staging/config, docs/sources.md "config"). -#}

{#- The thresholds a firm sets in config/sla_thresholds, with the product's defaults
    (docs/design.md §4: SLAs of 2, 10 and 5 business days; timesheets due one business day
    after the week; leakage after 90 days; a 16-hour day; ten years of history). A threshold the firm has not set
    takes its default, and the warning test assert_firm_configuration_is_complete says so in
    the run summary, so a firm without the file still gets its lags, leakage and limits. -#}
{% macro threshold_defaults() -%}
    {{ return({
        'sla_time_approval_business_days': 2,
        'sla_expense_posting_business_days': 10,
        'sla_invoice_release_business_days': 5,
        'timesheet_deadline_business_days': 1,
        'leakage_unbilled_days': 90,
        'daily_hours_limit': 16,
        'history_years': 10,
    }) }}
{%- endmacro %}

{#- A threshold as a scalar expression: the firm's value, else the product default. -#}
{% macro firm_threshold(name) -%}
    coalesce(
        (
            select sla_thresholds.value
            from {{ ref('stg_config__sla_thresholds') }} as sla_thresholds
            where sla_thresholds.threshold = '{{ name }}'
        ),
        {{ threshold_defaults()[name] }}
    )
{%- endmacro %}

{#- The firm's history window (threshold history_years): from N years before the as-of date
    to one year after it. A date outside it (a year typed wrong, `infinity`) is implausible:
    the record is an `implausible_date` exception and shapes nothing, neither the calendar
    spine nor any month's figures (docs/design.md §5). -#}
{% macro history_window_start() -%}
    cast({{ dbt.dateadd('year', '-' ~ firm_threshold('history_years'), as_of_date()) }} as date)
{%- endmacro %}

{% macro history_window_end() -%}
    cast({{ dbt.dateadd('year', 1, as_of_date()) }} as date)
{%- endmacro %}

{#- Whether the date `column` lies in the history window (false for null and infinite dates). -#}
{% macro is_plausible_date(column) -%}
    coalesce({{ column }} between {{ history_window_start() }} and {{ history_window_end() }}, false)
{%- endmacro %}
