-- Resources: the people who deliver (HR workers, leavers included) with role, practice,
-- region, legal entity, cost rate and capacity, and whether employed at the as-of date.

with

workers as (

    select * from {{ ref('stg_hris__workers') }}

),

final as (

    select
        {{ surrogate_key("'hris'", 'employee_id') }} as resource_id,
        'hris' as source_system,
        employee_id as source_id,
        employee_id,
        first_name,
        last_name,
        email,
        role,
        practice,
        region,
        legal_entity,
        cost_center,
        cost_rate,
        cost_rate_currency,
        weekly_capacity_hours,
        employment_type,
        hire_date,
        termination_date,
        coalesce(
            hire_date <= {{ as_of_date() }}
            and (termination_date is null or termination_date >= {{ as_of_date() }}),
            false
        ) as is_employed,
        updated_at
    from workers

)

select * from final
