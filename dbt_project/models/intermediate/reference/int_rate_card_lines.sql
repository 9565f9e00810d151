-- Rate card lines in force at the as-of date, from the rate card snapshot (SCD2): per line,
-- the version that was the CRM's state at the end of the as-of date. A line created by then
-- whose first captured version is later (the history starts with the first export) takes
-- that first version: the best record of it. Lines created later, deleted by then or
-- flagged deleted are left out. Rate resolution reads these.

with

versions as (

    select * from {{
        snapshot_versions('snap_salesforce__rate_cards', 'stg_salesforce__rate_cards')
    }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by rate_card_line_source_id
            order by
                -- the newest version valid at the as-of date first, else the oldest one
                case when {{ known_at_as_of('dbt_valid_from') }} then 0 else 1 end,
                case when {{ known_at_as_of('dbt_valid_from') }} then dbt_valid_from end desc,
                dbt_valid_from
        ) as as_of_rank
    from versions
    where {{ known_at_as_of('created_at') }}

),

lines_at_as_of as (

    select
        rate_card_line_source_id,
        contract_source_id,
        role,
        bill_rate,
        currency,
        effective_from,
        effective_to
    from ranked
    where
        as_of_rank = 1
        and not is_deleted
        -- a version closed by the as-of date without a successor was deleted by then
        and (dbt_valid_to is null or not {{ known_at_as_of('dbt_valid_to') }})

)

select * from lines_at_as_of
