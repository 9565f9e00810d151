-- The PSA project master of every PSA (var psa_sources) in one shape: one row per PSA project
-- (current export). Time entries refer to a project the way their PSA does (project_ref).

with

unioned as (

    {{ union_psa_staging('projects', [
        'project_source_id',
        'project_ref',
        'project_name',
        'project_code',
        'client_source_id',
        'client_name',
        'is_active',
        'is_billable',
        'start_date',
        'end_date',
        'default_bill_rate',
        'fixed_fee_amount',
        'currency',
        'updated_at',
        'first_ingested_at',
        'source_file',
        'source_row_number',
    ]) }}

),

final as (

    select
        {{ hash_key(['source_system', 'project_source_id']) }} as project_id,
        *
    from unioned

)

select * from final
