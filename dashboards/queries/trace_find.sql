-- Records matching an id typed on the Trace page, exactly (never a pattern): a time entry or
-- expense by its source id, key or correlation id, an expense report id, an invoice by number,
-- ERP id, key, correlation id or billing batch key, or an invoice line's id or correlation
-- id (its invoice). At most 50, time entries first. Each match names its owners (legal
-- entity, its region, client, worker's practice): the data module keeps only those in the
-- user's scope.
with

needle as (
    select trim($needle) as raw, lower(trim($needle)) as low, upper(trim($needle)) as up
),

matches as (
    -- Time entries are the big table: a 32-hex needle is looked up among the keys and
    -- correlation ids, anything else among the source ids (whose scan prunes by zone maps).
    -- The conditions are constant once the parameter is bound, so only one side runs.
    select
        'time_entry' as record_kind,
        t.source_system,
        t.source_id,
        t.correlation_id,
        t.work_date as record_date,
        concat(
            cast(t.hours as decimal(12, 2)), ' h on ',
            coalesce(t.project_code, t.project_source_id), ' by ',
            coalesce(t.employee_id, t.person_source_id)
        ) as summary,
        t.legal_entity,
        t.client_id,
        t.resource_id,
        1 as sort_order
    from marts.fct_time_entries as t
    where
        (
            regexp_full_match(lower(trim($needle)), '[0-9a-f]{32}')
            and (
                t.time_entry_id = lower(trim($needle))
                or t.correlation_id = lower(trim($needle))
            )
        )
        or (
            not regexp_full_match(lower(trim($needle)), '[0-9a-f]{32}')
            and t.source_id = trim($needle)
        )

    union all

    select
        'expense',
        e.source_system,
        e.source_id,
        e.correlation_id,
        e.transaction_date,
        concat(
            e.expense_type_name, ' ', e.transaction_amount, ' ', e.transaction_currency,
            ' (report ', e.report_id, ')'
        ),
        e.legal_entity,
        e.client_id,
        e.resource_id,
        2
    from marts.fct_expenses as e, needle
    where
        e.source_id = needle.raw
        or e.expense_id = needle.low
        or e.correlation_id = needle.low
        or e.report_id = needle.up

    union all

    select
        'invoice',
        i.source_system,
        i.source_id,
        i.correlation_id,
        i.invoice_date,
        concat(
            i.invoice_number, ' ', coalesce(i.customer_name, ''), ' ', i.total, ' ', i.currency,
            ' (', i.status, ')'
        ),
        i.legal_entity,
        i.client_id,
        null,
        3
    from marts.fct_invoices as i, needle
    where
        i.source_id = needle.raw
        or i.invoice_id = needle.low
        or i.correlation_id = needle.low
        or upper(i.invoice_number) = needle.up
        or i.batch_key = needle.low
        or i.invoice_id in (
            select l.invoice_id
            from marts.fct_invoice_lines as l
            where
                l.source_id = needle.raw
                or l.invoice_line_id = needle.low
                or l.correlation_id = needle.low
        )
)

select
    m.record_kind,
    m.source_system,
    m.source_id,
    m.correlation_id,
    m.record_date,
    m.summary,
    m.legal_entity,
    entities.region,
    clients.client_name,
    resources.practice
from matches as m
left join marts.dim_legal_entities as entities on entities.legal_entity = m.legal_entity
left join marts.dim_clients as clients on clients.client_id = m.client_id
left join marts.dim_resources as resources on resources.resource_id = m.resource_id
order by m.sort_order, m.record_date, m.source_id
limit 50
