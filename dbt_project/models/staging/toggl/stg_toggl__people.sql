-- The people time entries name, in the canonical shape every PSA's staging has (its
-- contract): Toggl exports no users, its entries name people by e-mail, so the e-mail is
-- the person's id there.

with

entries as (

    select * from {{ ref('stg_toggl__time_entries') }}

),

people as (

    select distinct
        person_source_id,
        person_source_id as email_normalized
    from entries

)

select * from people
