-- One row per time entry (latest version), keyed by a surrogate key, with the
-- correlation_id that follows it to billing batches and ERP invoice lines.

with

time_entries as (

    select * from {{ ref('int_time_entries_unioned') }}

),

final as (

    select
        {{ hash_key(['source_system', 'source_id']) }} as time_entry_id,
        source_system,
        source_id,
        {{ correlation_id('source_system', "'time_entry'", 'source_id') }} as correlation_id,
        person_source_id,
        project_source_id,
        task_source_id,
        client_source_id,
        work_date,
        cast(hours as decimal(12, 4)) as hours,
        is_billable,
        cast(psa_bill_rate as decimal(18, 4)) as psa_bill_rate,
        psa_currency,
        approval_status,
        approval_status = 'approved' as is_approved,
        submitted_at,
        approved_at,
        created_at,
        updated_at,
        source_file,
        source_row_number
    from time_entries

)

select * from final
