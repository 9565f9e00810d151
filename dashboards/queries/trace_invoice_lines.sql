-- The lines of one ERP invoice (marts.fct_invoice_lines) with how many records each bills.
select
    l.line_number,
    l.line_kind,
    l.item,
    l.description,
    l.project_code,
    l.quantity,
    l.unit_price,
    l.amount,
    l.tax_code,
    l.tax_amount,
    l.currency,
    l.billed_record_count,
    l.invoice_line_id,
    l.correlation_id
from marts.fct_invoice_lines as l
join marts.fct_invoices as i using (invoice_id)
where i.correlation_id = $correlation_id
order by l.line_number
