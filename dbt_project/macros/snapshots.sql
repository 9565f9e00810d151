{#- Snapshot entities (master data) land as full exports named with their as-of date
    (docs/sources.md); every export stays in raw. The newest export dated on or before the
    marts' as-of date is the state at that date; when every export is dated later (a firm
    delivers its master data once, after the fact), the oldest export is the best known. -#}

{#- The as-of date in a landing file name (`contracts_2025-06-30.csv`,
    `projects_2025-06-30_page_0001.json`), as text; '' when the name carries none. -#}
{% macro snapshot_tag(file_column) -%}
    {{ return(adapter.dispatch('snapshot_tag')(file_column)) }}
{%- endmacro %}

{% macro default__snapshot_tag(file_column) -%}
    coalesce(regexp_extract({{ file_column }}, '[0-9]{4}-[0-9]{2}-[0-9]{2}'), '')
{%- endmacro %}

{% macro postgres__snapshot_tag(file_column) -%}
    coalesce(substring({{ file_column }} from '[0-9]{4}-[0-9]{2}-[0-9]{2}'), '')
{%- endmacro %}

{#- The rows of the newest export of a snapshot entity, one per key (a key repeated within
    the newest export keeps its latest load), with `_first_ingested_at`: when the pipeline
    first loaded the record in any export (the first-seen date of its exceptions).
    Use as a relation: `select * from {{ current_snapshot(source('hris', 'workers'), ['employee_id']) }}`. -#}
{% macro current_snapshot(relation, key_columns) -%}
    {%- set keys = key_columns | join(", ") -%}
    (
        select snapshot_versions.*
        from (
            select
                snapshot_rows.*,
                {{ snapshot_tag('snapshot_rows._source_file') }} as _snapshot_tag,
                coalesce(
                    max(
                        case
                            when {{ snapshot_tag('snapshot_rows._source_file') }} != ''
                                and cast(nullif({{ snapshot_tag('snapshot_rows._source_file') }}, '') as date)
                                <= {{ as_of_date() }}
                                then {{ snapshot_tag('snapshot_rows._source_file') }}
                        end
                    ) over (),
                    min({{ snapshot_tag('snapshot_rows._source_file') }}) over ()
                ) as _as_of_snapshot_tag,
                min(snapshot_rows._ingested_at) over (partition by {{ keys }}) as _first_ingested_at,
                row_number() over (
                    partition by {{ snapshot_tag('snapshot_rows._source_file') }}, {{ keys }}
                    order by
                        snapshot_rows._ingested_at desc,
                        snapshot_rows._source_file desc,
                        snapshot_rows._row_number desc
                ) as _version_rank
            from {{ relation }} as snapshot_rows
        ) as snapshot_versions
        where
            snapshot_versions._snapshot_tag = snapshot_versions._as_of_snapshot_tag
            and snapshot_versions._version_rank = 1
    )
{%- endmacro %}
