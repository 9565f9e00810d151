-- The PSA project master of both PSAs in one shape: one row per PSA project (current export).
-- Time entries refer to a Harvest project by id and to a Toggl project by name (project_ref).

with

harvest as (

    select
        'harvest' as source_system,
        project_source_id,
        project_source_id as project_ref,
        project_name,
        project_code,
        client_source_id,
        client_name,
        is_active,
        is_billable,
        start_date,
        end_date,
        default_bill_rate,
        fixed_fee_amount,
        currency,
        updated_at,
        first_ingested_at,
        source_file,
        source_row_number
    from {{ ref('stg_harvest__projects') }}

),

toggl as (

    select
        'toggl' as source_system,
        project_source_id,
        project_name as project_ref,
        project_name,
        project_code,
        client_source_id,
        cast(null as varchar) as client_name,
        is_active,
        is_billable,
        start_date,
        end_date,
        default_bill_rate,
        fixed_fee_amount,
        currency,
        updated_at,
        first_ingested_at,
        source_file,
        source_row_number
    from {{ ref('stg_toggl__projects') }}

),

unioned as (

    select * from harvest
    union all
    select * from toggl

),

final as (

    select
        {{ hash_key(['source_system', 'project_source_id']) }} as project_id,
        *
    from unioned

)

select * from final
