-- The people time entries name, in the canonical shape every PSA's staging has (its
-- contract): Toggl exports no users; CSV entries name people by e-mail (the person's id and
-- the explicit key to HR), API entries by Toggl user id (no e-mail: matched to HR through
-- the MDM identity mapping, else an unmatched worker).

with

entries as (

    select * from {{ ref('stg_toggl__time_entries') }}

),

people as (

    select distinct
        person_source_id,
        case when person_source_id like '%@%' then person_source_id end as email_normalized
    from entries

)

select * from people
