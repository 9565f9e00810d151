-- Every time entry and expense by its correlation id (docs/design.md §3): the write-back knows the
-- records it billed only by correlation id (outbox lines, ERP read-back), this turns them
-- back into source records.

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

unioned as (

    select * from time_entries
    union all
    select * from expenses

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
