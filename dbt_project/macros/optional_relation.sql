{#- A relation that may not exist yet, as a relation or as an empty row set of the given
    columns. The billing write-back creates the outbox (`ops.erp_outbox*`) and the ERP
    read-back tables (`raw.erp_api__*`) on its first run; the models that read them must
    build before that, on a firm that has never billed through Deliver-to-Bill.
    Use: `select * from {{ optional_relation(source('ops', 'erp_outbox'), {'batch_key': 'varchar'}) }}`.
    `columns` maps each column the model reads to its type. -#}
{% macro optional_relation(relation, columns) -%}
    {%- if execute and adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) is none -%}
        (
            select
            {%- for name, data_type in columns.items() %}
                cast(null as {{ column_type(data_type) }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
            where 1 = 0
        ) as {{ relation.identifier }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
