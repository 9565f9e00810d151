-- The firm's expense policy in force (its newest config/expense_policy file).

with

source as (

    {%- set key = ['expense_type_code', 'currency'] %}
    select * from {{ current_snapshot(source('config', 'expense_policy'), key) }}

),

renamed as (

    select
        expense_type_code,
        expense_type_name,
        currency,
        receipt_required_over,
        policy_limit,
        is_rebillable_type,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
