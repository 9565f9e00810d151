with

source as (

    select * from {{ current_snapshot(source('toggl', 'projects'), ['id']) }}

),

renamed as (

    -- the canonical project columns every PSA's staging has (its contract)
    select
        -- ids: time entries refer to a Toggl project by its name; a name two projects share
        -- names neither (Toggl allows it: the warning test on project_name says so), so
        -- their entries are `unknown_project` exceptions instead of counting twice
        cast(id as {{ type_text() }}) as project_source_id,
        case when count(*) over (partition by name) = 1 then name end as project_ref,
        cast(client_id as {{ type_text() }}) as client_source_id,

        -- attributes: the name starts with the project code where the project has one
        name as project_name,
        case
            when
                {{ dbt.split_part('name', "' '", 1) }} like 'P-%'
                or {{ dbt.split_part('name', "' '", 1) }} like 'INT-%'
                then {{ dbt.split_part('name', "' '", 1) }}
        end as project_code,
        -- the projects export names no client
        cast(null as {{ type_text() }}) as client_name,
        active as is_active,
        billable as is_billable,
        start_date,
        end_date,
        rate as default_bill_rate,
        fixed_fee as fixed_fee_amount,
        currency,

        -- audit: Toggl's field name `at` is an SQL keyword, hence quoted
        {{ adapter.quote('at') }} as updated_at,

        -- lineage
        _source_file as source_file,
        _row_number as source_row_number,
        _first_ingested_at as first_ingested_at

    from source

)

select * from renamed
