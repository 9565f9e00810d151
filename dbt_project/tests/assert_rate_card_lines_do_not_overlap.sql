-- Fails for every pair of rate card lines in force for the same contract and role whose
-- effective periods overlap: rate resolution would have two rates for one work date.
-- The CRM's data can overlap (resolution then takes the latest line): a warning, not a
-- failed build (docs/design.md §5).

{{ config(severity='warn') }}

with

lines as (

    select
        contract_source_id,
        role,
        rate_card_line_source_id,
        effective_from,
        -- an open end runs to the end of time
        coalesce(effective_to, cast('9999-12-31' as date)) as effective_to
    from {{ ref('int_rate_card_lines') }}

)

select
    first_line.contract_source_id,
    first_line.role,
    first_line.rate_card_line_source_id as first_line_id,
    second_line.rate_card_line_source_id as overlapping_line_id
from lines as first_line
inner join lines as second_line
    on
        first_line.contract_source_id = second_line.contract_source_id
        and first_line.role = second_line.role
        and first_line.rate_card_line_source_id < second_line.rate_card_line_source_id
        and first_line.effective_from <= second_line.effective_to
        and first_line.effective_to >= second_line.effective_from
