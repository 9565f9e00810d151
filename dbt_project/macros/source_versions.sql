{#- Which extract of a record is current: one definition for every model and test that picks
    a record's version (the enriched model, the date exceptions, the tie-outs). -#}

{% macro concur_expense_version_rank() -%}
    row_number() over (
        partition by expense_source_id
        order by batch_date desc, ingested_at desc, source_file desc, source_row_number desc
    )
{%- endmacro %}
