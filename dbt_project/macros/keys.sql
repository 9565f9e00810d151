{#- Deterministic keys built from cross-database macros, so they are the same on every
    engine the project targets (docs/design.md §7). -#}

{% macro hash_key(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(expression, api.Column.translate_type("string")) ~ ", '∅')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- correlation_id: travels with a source record from the PSA or expense tool to the ERP
    invoice line that bills it (docs/design.md §3). -#}
{% macro correlation_id(source_system, record_kind, source_id) -%}
    {{ hash_key([source_system, record_kind, source_id]) }}
{%- endmacro %}

{#- Surrogate key of a record of a source system (docs/design.md §3): hash of the system and the
    record's id there; null when the id is null, so a missing reference stays missing
    instead of pointing at a row that does not exist. -#}
{% macro surrogate_key(source_system, source_id) -%}
    case when {{ source_id }} is not null then {{ hash_key([source_system, source_id]) }} end
{%- endmacro %}

{#- The invoice line kind of a billing schedule line's fee (docs/design.md §4): its correlation
    id is correlation_id('salesforce', <this kind>, <schedule line id>); a retainer period's
    overage is a second amount of the same line, kind retainer_overage. -#}
{% macro schedule_fee_line_kind(line_type) -%}
    case {{ line_type }}
        when 'instalment' then 'fixed_fee_instalment'
        when 'retainer_period' then 'retainer_fee'
        when 'milestone' then 'milestone'
    end
{%- endmacro %}
