-- Billing batches frozen for the ERP (docs/design.md §6), one row per batch, with their status.

with

source as (

    select * from {{ optional_relation(source('ops', 'erp_outbox'), {
        'batch_key': 'varchar', 'period': 'varchar', 'client_ref': 'varchar',
        'contract_ref': 'varchar', 'legal_entity': 'varchar', 'currency': 'varchar',
        'line_count': 'integer', 'total_quantity': 'decimal(18, 2)',
        'total_amount': 'decimal(18, 4)', 'expected_tax': 'decimal(18, 4)',
        'status': 'varchar', 'attempts': 'integer', 'next_attempt_at': 'timestamp',
        'last_error': 'varchar',
        'erp_adapter': 'varchar', 'erp_document_id': 'varchar', 'erp_number': 'varchar',
        'erp_state': 'varchar', 'mismatch_reason': 'varchar', 'frozen_by_run': 'varchar',
        'frozen_at': 'timestamp', 'sent_at': 'timestamp', 'reconciled_at': 'timestamp',
        'updated_at': 'timestamp'
    }) }}

),

renamed as (

    select
        batch_key,
        period as billing_period,
        client_ref as account_source_id,
        contract_ref as contract_source_id,
        legal_entity,
        currency,
        line_count,
        total_quantity,
        total_amount,
        expected_tax,
        status as outbox_status,
        attempts,
        next_attempt_at,
        last_error,
        erp_adapter,
        erp_document_id,
        erp_number,
        erp_state,
        mismatch_reason,
        frozen_by_run,
        frozen_at,
        sent_at,
        reconciled_at,
        updated_at
    from source

)

select * from renamed
