with

source as (

    select * from {{ current_snapshot(
        source('harvest', 'projects'),
        ['id'],
        partition_by=landing_account('snapshot_rows._source_file')
    ) }}

),

renamed as (

    -- the canonical project columns every PSA's staging has (its contract)
    select
        -- ids: time entries refer to a Harvest project by its id
        {{ account_qualified_id('id') }} as project_source_id,
        {{ account_qualified_id('id') }} as project_ref,
        {{ account_qualified_id('client_id') }} as client_source_id,

        -- attributes
        name as project_name,
        nullif(trim(code), '') as project_code,
        client_name,
        is_active,
        is_billable,
        starts_on as start_date,
        ends_on as end_date,
        hourly_rate as default_bill_rate,
        fee as fixed_fee_amount,
        client_currency as currency,

        -- audit
        updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
