{#- The firm's own configuration (models/staging/config, docs/sources.md "config"). -#}

{#- A threshold of the firm's config/sla_thresholds as a scalar subquery: null when the firm
    has not set it, which the warning test assert_firm_configuration_is_complete reports (no
    silent default). -#}
{% macro firm_threshold(name) -%}
    (
        select sla_thresholds.value
        from {{ ref('stg_config__sla_thresholds') }} as sla_thresholds
        where sla_thresholds.threshold = '{{ name }}'
    )
{%- endmacro %}
