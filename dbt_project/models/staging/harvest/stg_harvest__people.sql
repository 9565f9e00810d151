-- The people time entries name, in the canonical shape every PSA's staging has (its
-- contract): Harvest users, by user id.

with

users as (

    select * from {{ ref('stg_harvest__users') }}

),

people as (

    select
        person_source_id,
        email_normalized
    from users

)

select * from people
