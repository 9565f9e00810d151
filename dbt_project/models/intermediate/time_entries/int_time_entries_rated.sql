-- The resolved bill rate of each time entry (docs/design.md §4) and its value:
--   1. the contract's rate card line for the worker's role effective on the work date
--      (effective_from <= work date <= effective_to, an empty end is open);
--   2. else the PSA project's default rate;
--   3. else none (a billable entry without a rate is a `missing_rate` exception).
-- Rates are in the contract currency (rate card lines carry it); the billable amount is
-- hours x rate rounded to cents, and converted to the reporting currency at the work
-- date's FX rate.

-- Incremental: a daily run rebuilds the entries worked on or after the cutoff
-- (macros/incremental.sql).

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_incremental_scope(on_or_after_cutoff('work_date', incremental_cutoff())) }}",
    post_hook="{{ record_incremental_state() }}",
) }}

-- depends_on: {{ ref('int_time_entry_versions') }}
{%- set cutoff = incremental_cutoff() %}

with

entries as (

    select * from {{ ref('int_time_entries_enriched') }}
    where {{ on_or_after_cutoff('work_date', cutoff) }}

),

rate_card_lines as (

    select * from {{ ref('int_rate_card_lines') }}

),

fx_rates as (

    select
        currency,
        rate_date,
        base_per_unit
    from {{ ref('int_fx_rates_daily') }}

),

card_matches as (

    select
        entries.source_system,
        entries.source_id,
        rate_card_lines.rate_card_line_source_id,
        rate_card_lines.bill_rate,
        rate_card_lines.currency,
        -- overlapping lines should not exist (tested); if they do, the latest start wins
        row_number() over (
            partition by entries.source_system, entries.source_id
            order by
                rate_card_lines.effective_from desc,
                rate_card_lines.rate_card_line_source_id desc
        ) as match_rank
    from entries
    inner join rate_card_lines
        on
            entries.contract_source_id = rate_card_lines.contract_source_id
            and entries.worker_role = rate_card_lines.role
            and entries.work_date >= rate_card_lines.effective_from
            and (
                rate_card_lines.effective_to is null
                or entries.work_date <= rate_card_lines.effective_to
            )

),

resolved as (

    select
        entries.*,
        card_matches.rate_card_line_source_id,
        cast(
            coalesce(card_matches.bill_rate, entries.project_default_rate) as decimal(18, 4)
        ) as resolved_bill_rate,
        case
            when card_matches.bill_rate is not null then 'rate_card'
            when entries.project_default_rate is not null then 'project_default'
        end as rate_source,
        coalesce(
            card_matches.currency, entries.contract_currency, entries.project_currency
        ) as rate_currency
    from entries
    left join card_matches
        on
            entries.source_system = card_matches.source_system
            and entries.source_id = card_matches.source_id
            and card_matches.match_rank = 1

),

valued as (

    select
        resolved.*,
        case
            when resolved.is_billable and resolved.resolved_bill_rate is not null
                then {{ money('resolved.hours * resolved.resolved_bill_rate') }}
        end as billable_amount,
        {{ cross_rate('rate_fx.base_per_unit', 'reporting_fx.base_per_unit') }}
            as reporting_fx_rate
    from resolved
    left join fx_rates as rate_fx
        on
            resolved.rate_currency = rate_fx.currency
            and resolved.work_date = rate_fx.rate_date
    left join fx_rates as reporting_fx
        on
            reporting_fx.currency = '{{ var("reporting_currency") }}'
            and resolved.work_date = reporting_fx.rate_date

),

final as (

    select
        *,
        {{ convert_money('billable_amount', 'reporting_fx_rate') }} as billable_amount_reporting
    from valued

)

-- every enriched column, then rate and value
select * from final  -- noqa: AM04
