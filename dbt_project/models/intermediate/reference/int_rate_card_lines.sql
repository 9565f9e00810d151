-- Rate card lines in force: the current version of every line of the rate card snapshot
-- (dbt_valid_to is null), deleted lines left out. Rate resolution reads these.

with

versions as (

    select * from {{ ref('snap_salesforce__rate_cards') }}

),

current_lines as (

    select
        rate_card_line_source_id,
        contract_source_id,
        role,
        bill_rate,
        currency,
        effective_from,
        effective_to
    from versions
    where
        dbt_valid_to is null
        and not is_deleted

)

select * from current_lines
