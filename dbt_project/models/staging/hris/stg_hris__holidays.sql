with

source as (

    select * from {{ current_snapshot(source('hris', 'holidays'), ['region', 'holiday_date']) }}

),

renamed as (

    select
        region,
        holiday_date,
        holiday_name,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _ingested_at as ingested_at

    from source

)

select * from renamed
