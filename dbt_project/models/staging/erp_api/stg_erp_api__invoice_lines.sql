-- Lines of the invoices Deliver-to-Bill created in the ERP (read back), with the line key
-- the write-back gave each and the correlation ids of the records it bills.

with

source as (

    select * from {{ optional_relation(source('erp_api', 'invoice_lines'), {
        'erp_adapter': 'varchar', 'document_id': 'varchar', 'line_id': 'varchar',
        'batch_key': 'varchar', 'line_key': 'varchar', 'description': 'varchar',
        'product_code': 'varchar', 'quantity': 'decimal(18, 2)',
        'unit_price': 'decimal(18, 4)', 'amount': 'decimal(18, 4)',
        'tax_codes': 'varchar[]', 'correlation_ids': 'varchar[]',
        '_load_id': 'varchar', '_ingested_at': 'timestamp'
    }) }}

),

renamed as (

    select
        -- ids
        erp_adapter || ':' || line_id as invoice_line_source_id,
        erp_adapter || ':' || document_id as invoice_source_id,
        erp_adapter,
        line_key,
        batch_key,

        -- attributes
        description,
        product_code,
        quantity,
        unit_price,
        cast(amount as decimal(18, 2)) as amount,
        -- one tax per line in Deliver-to-Bill's batches (erp.model)
        tax_codes[1] as tax_code,
        correlation_ids,

        -- lineage
        _load_id as load_id,
        _ingested_at as ingested_at
    from source

)

select * from renamed
