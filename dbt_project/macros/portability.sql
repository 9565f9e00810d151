{#- Engine-specific SQL the models need and dbt's cross-database macros (dbt.*) do not
    cover, dispatched per adapter (docs/scale.md). The DuckDB form is what the models always
    used; the default form is standard SQL PostgreSQL runs; Spark overrides where it differs.
    No model writes one engine's dialect outside a macro here or another dispatched macro. -#}

{#- The 8-byte floating-point type of ratios (utilization, shares; money stays decimal). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- The variable-length text type (Spark's casts want `string`: its `varchar` needs a length). -#}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text')()) }}
{%- endmacro %}

{% macro default__type_text() -%}
    varchar
{%- endmacro %}

{% macro spark__type_text() -%}
    string
{%- endmacro %}

{#- A column type as the models spell it (`varchar`, `varchar[]`, `json`, `integer`, ...)
    in the engine's dialect, for columns declared in a model (optional_relation). -#}
{% macro column_type(data_type) -%}
    {{ return(adapter.dispatch('column_type')(data_type)) }}
{%- endmacro %}

{% macro default__column_type(data_type) -%}
    {{ data_type }}
{%- endmacro %}

{% macro spark__column_type(data_type) -%}
    {%- if data_type.endswith('[]') -%}
        array<{{ spark__column_type(data_type[:-2]) }}>
    {%- elif data_type in ('varchar', 'json') -%}
        string
    {%- else -%}
        {{ data_type }}
    {%- endif -%}
{%- endmacro %}

{#- An integer type wide enough for cents times a weight (more than 64 bits). -#}
{% macro type_wide_integer() -%}
    {{ return(adapter.dispatch('type_wide_integer')()) }}
{%- endmacro %}

{% macro default__type_wide_integer() -%}
    numeric(38, 0)
{%- endmacro %}

{% macro duckdb__type_wide_integer() -%}
    hugeint
{%- endmacro %}

{% macro spark__type_wide_integer() -%}
    decimal(38, 0)
{%- endmacro %}

{#- Integer division of two integers, truncated toward zero. -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    div({{ dividend }}, {{ divisor }})
{%- endmacro %}

{% macro duckdb__integer_divide(dividend, divisor) -%}
    ({{ dividend }} // {{ divisor }})
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    ({{ dividend }} div {{ divisor }})
{%- endmacro %}

{#- ISO day of the week of a date: 1 (Monday) to 7 (Sunday), as an integer. -#}
{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    ((dayofweek({{ date_expression }}) + 5) % 7 + 1)
{%- endmacro %}

{#- A predicate: the row value `columns` (a list of column expressions) is [not] among the rows
    of `columns_from` (the rest of a select after its column list, e.g. `from t where ...`),
    which selects the same columns. DuckDB compares a row with a subquery of one struct column,
    the others with a subquery of as many columns. -#}
{% macro row_in(columns, columns_from, negate=false) -%}
    {{ return(adapter.dispatch('row_in')(columns, columns_from, negate)) }}
{%- endmacro %}

{% macro default__row_in(columns, columns_from, negate) -%}
    ({{ columns | join(', ') }}) {{ 'not ' if negate }}in (
        select {{ columns | join(', ') }} {{ columns_from }}
    )
{%- endmacro %}

{% macro duckdb__row_in(columns, columns_from, negate) -%}
    ({{ columns | join(', ') }}) {{ 'not ' if negate }}in (
        select ({{ columns | join(', ') }}) {{ columns_from }}
    )
{%- endmacro %}

{#- The length of an interval in seconds. The Spark lake stores an interval as its seconds
    already (Parquet has no interval Spark reads; ingest/spark_sink.py). -#}
{% macro interval_seconds(interval_expression) -%}
    {{ return(adapter.dispatch('interval_seconds')(interval_expression)) }}
{%- endmacro %}

{% macro default__interval_seconds(interval_expression) -%}
    extract(epoch from {{ interval_expression }})
{%- endmacro %}

{% macro spark__interval_seconds(interval_expression) -%}
    {{ interval_expression }}
{%- endmacro %}

{#- dbt-spark's split_part indexes the array of split(), a regular expression, and fails past
    its end under ANSI mode; Spark's own split_part splits on the text and gives '' past the
    end, as DuckDB's and PostgreSQL's do. -#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{#- The local date, in time zone `zone` (a name), of a UTC wall time given as a date and a time
    of day. The Spark lake stores a time of day as its text (ingest/spark_sink.py). -#}
{% macro local_date_of_utc(date_expression, time_expression, zone) -%}
    {{ return(adapter.dispatch('local_date_of_utc')(date_expression, time_expression, zone)) }}
{%- endmacro %}

{% macro default__local_date_of_utc(date_expression, time_expression, zone) -%}
    cast(
        timezone(
            '{{ zone }}',
            timezone('UTC', {{ date_expression }} + {{ time_expression }})
        ) as date
    )
{%- endmacro %}

{% macro spark__local_date_of_utc(date_expression, time_expression, zone) -%}
    cast(
        from_utc_timestamp(
            cast(
                concat(cast({{ date_expression }} as string), ' ', {{ time_expression }})
                as timestamp
            ),
            '{{ zone }}'
        ) as date
    )
{%- endmacro %}

{#- The hint that a CTE read more than once is inlined into each read rather than computed
    once into a temporary copy (`name as {{ cte_not_materialized() }} (...)`): DuckDB and
    PostgreSQL take it; Spark's parser does not, and Spark inlines a CTE anyway. -#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized')()) }}
{%- endmacro %}

{% macro default__cte_not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro spark__cte_not_materialized() -%}
{%- endmacro %}
