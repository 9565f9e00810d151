-- Every time entry, expense and billing schedule amount by its correlation id (docs/design.md
-- §3): the write-back knows the records it billed only by correlation id (outbox lines, ERP
-- read-back), this turns them back into source records. A schedule line bills its fee
-- (record kind: the fee's line kind) and, for a retainer period, its overage.

with

time_entries as (

    select
        source_system as record_system,
        'time_entry' as record_kind,
        source_id as record_source_id
    from {{ ref('int_time_entries_rated') }}

),

expenses as (

    select
        'concur' as record_system,
        'expense' as record_kind,
        expense_source_id as record_source_id
    from {{ ref('int_expenses_enriched') }}

),

schedule_lines as (

    select * from {{ ref('stg_salesforce__billing_schedule_lines') }}

),

schedule_amounts as (

    select
        'salesforce' as record_system,
        {{ schedule_fee_line_kind('line_type') }} as record_kind,
        schedule_line_source_id as record_source_id
    from schedule_lines
    where {{ schedule_fee_line_kind('line_type') }} is not null
    union all
    select
        'salesforce' as record_system,
        'retainer_overage' as record_kind,
        schedule_line_source_id as record_source_id
    from schedule_lines
    where line_type = 'retainer_period'

),

unioned as (

    select * from time_entries
    union all
    select * from expenses
    union all
    select * from schedule_amounts

),

final as (

    select
        {{ correlation_id('record_system', 'record_kind', 'record_source_id') }}
            as correlation_id,
        record_system,
        record_kind,
        record_source_id
    from unioned

)

select * from final
