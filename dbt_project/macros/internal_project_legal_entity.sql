{#- The legal entity an internal project's code names (INT-<entity>-<purpose>), else null.
    dim_projects reads it as the entity of projects without a contract, and
    int_project_exceptions raises unknown_legal_entity when it is not a configured one. -#}
{% macro internal_project_legal_entity(project_code) -%}
    case
        when {{ project_code }} like 'INT-%'
            then {{ dbt.split_part(project_code, "'-'", 2) }}
    end
{%- endmacro %}
