-- Readings of the state, due date and payments of the invoices Deliver-to-Bill created in the
-- ERP, taken daily for those not yet final (erp.outbox.feedback): insert-only, one row per
-- invoice per reading; the newest reading known at the as-of date is the invoice's state.

with

source as (

    select * from {{ optional_relation(source('erp_api', 'invoice_status'), {
        'erp_adapter': 'varchar', 'document_id': 'varchar', 'batch_key': 'varchar',
        'state': 'varchar', 'currency': 'varchar', 'total_amount': 'decimal(18, 4)',
        'due_date': 'date', 'amount_paid': 'decimal(18, 4)', 'amount_due': 'decimal(18, 4)',
        'paid_date': 'date', 'last_payment_date': 'date',
        '_load_id': 'varchar', '_ingested_at': 'timestamp'
    }) }}

),

renamed as (

    select
        -- ids: an ERP document id is unique within its adapter
        erp_adapter || ':' || document_id as invoice_source_id,
        erp_adapter,
        document_id,
        batch_key,

        -- state: draft | validated | posted | paid | cancelled (Tryton's vocabulary)
        lower(state) as erp_state,
        currency,
        due_date,
        paid_date,
        last_payment_date,

        -- money (invoice currency); NULL where the ERP cannot tell (a file drop's payments)
        cast(total_amount as decimal(18, 2)) as total,
        cast(amount_paid as decimal(18, 2)) as amount_paid,
        cast(amount_due as decimal(18, 2)) as amount_remaining,

        -- lineage: when the reading was taken
        _load_id as load_id,
        _ingested_at as read_at
    from source

)

select * from renamed
