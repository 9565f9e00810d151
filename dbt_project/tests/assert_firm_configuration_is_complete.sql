-- The firm's configuration (config/<entity>, docs/sources.md) is landed and complete: one row
-- per missing part, with what is missing. Nothing is filled in silently: the models read what
-- is there (no legal entities: every entity code is unknown, an exception), a threshold not
-- set takes the product default (macro threshold_defaults), and this warning says so in the
-- run summary.

{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_config__legal_entities'}}}) }}

with

entity_rows as (

    select
        'legal_entities' as config_entity,
        count(*) as row_count
    from {{ ref('stg_config__legal_entities') }}
    union all
    select
        'tax_rules' as config_entity,
        count(*) as row_count
    from {{ ref('stg_config__tax_rules') }}
    union all
    select
        'expense_policy' as config_entity,
        count(*) as row_count
    from {{ ref('stg_config__expense_policy') }}
    union all
    select
        'sla_thresholds' as config_entity,
        count(*) as row_count
    from {{ ref('stg_config__sla_thresholds') }}

),

required_thresholds as (

    {% for name in threshold_defaults() -%}
        select '{{ name }}' as threshold, {{ threshold_defaults()[name] }} as default_value
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

missing as (

    select
        'config/' || config_entity as config_file,
        'no file landed: the firm has no ' || config_entity as problem
    from entity_rows
    where row_count = 0
    union all
    select
        'config/sla_thresholds' as config_file,
        'threshold ' || required_thresholds.threshold || ' is not set: the default '
        || cast(required_thresholds.default_value as {{ type_text() }}) || ' applies' as problem
    from required_thresholds
    left join {{ ref('stg_config__sla_thresholds') }} as landed
        on required_thresholds.threshold = landed.threshold
    where landed.threshold is null

)

select * from missing
