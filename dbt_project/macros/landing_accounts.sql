{#- Several accounts of one source side by side (docs/sources.md). A
    source's ids are unique per account only, so each account lands under its own folder,
    `<system>/<entity>/<account>/<file>`, and every id of it is qualified by the account. A
    file directly under `<system>/<entity>/` belongs to the default account, whose ids stay
    unqualified: a firm with one account keeps its keys. -#}

{#- The account of a raw row: the folder between entity and file, else null (the
    default account). -#}
{% macro landing_account(source_file_column) -%}
    nullif(
        case
            when {{ dbt.split_part(source_file_column, "'/'", 4) }} != ''
                then {{ dbt.split_part(source_file_column, "'/'", 3) }}
        end,
        ''
    )
{%- endmacro %}

{#- A source id as the text every key and join uses: `<account>:<id>` for an account's
    files, the id alone for the default account's; null stays null. -#}
{% macro account_qualified_id(id_column, source_file_column='_source_file') -%}
    case
        when {{ id_column }} is not null
            then
                coalesce({{ landing_account(source_file_column) }} || ':', '')
                || cast({{ id_column }} as {{ api.Column.translate_type('string') }})
    end
{%- endmacro %}
