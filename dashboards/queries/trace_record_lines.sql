-- The ERP invoice line(s) that bill one time entry or expense (marts.fct_invoice_line_records
-- to marts.fct_invoice_lines and marts.fct_invoices); more than one is double billing.
select
    i.invoice_number,
    i.invoice_origin,
    i.batch_key,
    i.status as invoice_status,
    i.invoice_date,
    i.released_date,
    i.paid_date,
    l.line_number,
    l.line_kind,
    l.description,
    l.quantity,
    l.unit_price,
    l.amount,
    l.currency,
    l.tax_code,
    l.billed_record_count,
    l.invoice_line_id,
    i.correlation_id as invoice_correlation_id
from marts.fct_invoice_line_records as r
join marts.fct_invoice_lines as l using (invoice_line_id)
join marts.fct_invoices as i on i.invoice_id = l.invoice_id
where r.correlation_id = $correlation_id
order by i.invoice_date, l.line_number
