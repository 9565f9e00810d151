-- Invoices Deliver-to-Bill created in the ERP, as the ERP reports them (read back).

with

source as (

    select * from {{ optional_relation(source('erp_api', 'invoices'), {
        'erp_adapter': 'varchar', 'document_id': 'varchar', 'batch_key': 'varchar',
        'number': 'varchar', 'state': 'varchar', 'party_code': 'varchar',
        'currency': 'varchar', 'invoice_date': 'date', 'accounting_date': 'date',
        'untaxed_amount': 'decimal(18, 4)', 'tax_amount': 'decimal(18, 4)',
        'total_amount': 'decimal(18, 4)', '_load_id': 'varchar', '_ingested_at': 'timestamp'
    }) }}

),

renamed as (

    select
        -- ids: an ERP document id is unique within its adapter
        erp_adapter,
        document_id,
        erp_adapter || ':' || document_id as invoice_source_id,
        batch_key,
        number as invoice_number,
        party_code as account_source_id,

        -- state: draft | validated | posted | paid | cancelled (Tryton's vocabulary)
        lower(state) as erp_state,
        currency,
        invoice_date,
        accounting_date,

        -- money (invoice currency)
        cast(untaxed_amount as decimal(18, 2)) as subtotal,
        cast(tax_amount as decimal(18, 2)) as tax_total,
        cast(total_amount as decimal(18, 2)) as total,

        -- lineage
        _load_id as load_id,
        _ingested_at as ingested_at
    from source

)

select * from renamed
