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

{#- Spark's regexp_extract returns a group (the first by default), '' on no match. -#}
{% macro spark__snapshot_tag(file_column) -%}
    regexp_extract({{ file_column }}, '([0-9]{4}-[0-9]{2}-[0-9]{2})', 1)
{%- endmacro %}

{% macro postgres__snapshot_tag(file_column) -%}
    coalesce(substring({{ file_column }} from '[0-9]{4}-[0-9]{2}-[0-9]{2}'), '')
{%- endmacro %}

{#- The rows of the newest export of a snapshot entity, one per key (a key repeated within
    the newest export keeps its latest load), with `_first_ingested_at`: when the pipeline
    first loaded the record in any export (the first-seen date of its exceptions).
    Use as a relation: `select * from {{ current_snapshot(source('hris', 'workers'), ['employee_id']) }}`.
    `partition_by`: an expression over `snapshot_rows` whose values export separately (several
    accounts of one system): each value gets its own newest export, and is part of the key.
    `landed_files`: for an entity whose versions may be empty (a business calendar without
    non-working dates), a query with the `source_file` of every loaded file of the entity;
    the version in force is chosen among the files, not the rows, so an empty newest version
    is in force (no rows) instead of leaving the previous one in force. -#}
{% macro current_snapshot(relation, key_columns, partition_by=none, landed_files=none) -%}
    {%- set keys = ((key_columns + [partition_by]) if partition_by else key_columns) | join(", ") -%}
    {%- set exports = 'partition by ' ~ partition_by if partition_by else '' -%}
    (
        select snapshot_versions.*
        from (
            select
                snapshot_rows.*,
                {{ snapshot_tag('snapshot_rows._source_file') }} as _snapshot_tag,
                {%- if landed_files is not none %}
                (
                    select
                        coalesce(
                            max(
                                case
                                    when landed._tag != ''
                                        and cast(nullif(landed._tag, '') as date) <= {{ as_of_date() }}
                                        then landed._tag
                                end
                            ),
                            min(landed._tag)
                        )
                    from (
                        select {{ snapshot_tag('landed_file.source_file') }} as _tag
                        from ({{ landed_files }}) as landed_file
                    ) as landed
                ) as _as_of_snapshot_tag,
                {%- else %}
                coalesce(
                    max(
                        case
                            when {{ snapshot_tag('snapshot_rows._source_file') }} != ''
                                and cast(nullif({{ snapshot_tag('snapshot_rows._source_file') }}, '') as date)
                                <= {{ as_of_date() }}
                                then {{ snapshot_tag('snapshot_rows._source_file') }}
                        end
                    ) over ({{ exports }}),
                    min({{ snapshot_tag('snapshot_rows._source_file') }}) over ({{ exports }})
                ) as _as_of_snapshot_tag,
                {%- endif %}
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
    ) as current_snapshot_rows
{%- endmacro %}

{#- The versions a dbt snapshot holds, as a relation. dbt-spark refuses snapshots on Parquet
    tables, so on Spark this is what the first `dbt snapshot` run stores: every current row of
    `relation_name` as one open version from its `updated_at` (timestamp strategy). A build
    from a fresh warehouse gives the same rows on every engine; the history of later runs
    awaits versions modelled from the raw exports (docs/scale.md). -#}
{% macro snapshot_versions(snapshot_name, relation_name) -%}
    {{ return(adapter.dispatch('snapshot_versions')(snapshot_name, relation_name)) }}
{%- endmacro %}

{% macro default__snapshot_versions(snapshot_name, relation_name) -%}
    {{ ref(snapshot_name) }}
{%- endmacro %}

{% macro spark__snapshot_versions(snapshot_name, relation_name) -%}
    (
        select
            first_snapshot.*,
            first_snapshot.updated_at as dbt_updated_at,
            first_snapshot.updated_at as dbt_valid_from,
            cast(null as timestamp) as dbt_valid_to
        from {{ ref(relation_name) }} as first_snapshot
    ) as {{ snapshot_name }}
{%- endmacro %}
