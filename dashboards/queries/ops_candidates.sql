-- Records ready to bill and not yet frozen into a batch (marts.billing_batch_candidates),
-- per billing period, client, contract, legal entity and contract currency: what the next
-- billing run would batch. Amount = labour hours x rate + expense amounts (contract currency).
select
    c.period,
    c.client_name,
    c.contract_ref,
    c.legal_entity,
    c.currency,
    count(*) as records,
    count(*) filter (where c.line_kind = 'labour') as time_entries,
    count(*) filter (where c.line_kind = 'expense') as expenses,
    coalesce(sum(c.quantity), 0) as hours,
    sum(coalesce(round(c.quantity * c.unit_price, 2), 0) + coalesce(c.amount, 0)) as amount
from marts.billing_batch_candidates as c
left join marts.dim_legal_entities as entities using (legal_entity)
where
    (len($legal_entity) = 0 or list_contains($legal_entity, c.legal_entity))
    and (len($region) = 0 or list_contains($region, entities.region))
    and (len($client) = 0 or list_contains($client, c.client_name))
    and ($period_start is null or c.invoice_date >= $period_start)
    and ($period_end is null or c.invoice_date <= $period_end)
group by all
order by c.period, c.client_name, c.contract_ref, c.currency
