-- The time entries and expenses one ERP invoice bills (marts.fct_invoice_line_records), to
-- trace any of them back to its source. At most 1,000.
select
    l.line_number,
    r.record_kind,
    r.record_system,
    r.record_source_id,
    r.correlation_id
from marts.fct_invoice_line_records as r
join marts.fct_invoice_lines as l using (invoice_line_id)
join marts.fct_invoices as i on i.invoice_id = l.invoice_id
where i.correlation_id = $correlation_id
order by l.line_number, r.record_kind, r.record_source_id
limit 1000
