"""The ERP's own copy of the invoices the write-back created, read back through its adapter.

Not a landing-zone source: ``erp.outbox.read_back`` reads these rows from the ERP adapter
(Tryton, or the file drop) and stores them through :class:`ingest.sinks.DuckDBSink`, so the
raw tables have these declared columns and the same lineage columns as every landed entity
(docs/sources.md "erp_api"). No reader, hence not in ``SOURCE_ENTITIES``.
"""

from __future__ import annotations

from ingest.schema import Column, SourceSchema

INVOICES = SourceSchema(
    system="erp_api",
    entity="invoices",
    key=("erp_adapter", "document_id"),
    description="One row per ERP invoice created from an outbox batch (reference = batch key).",
    columns=(
        Column("erp_adapter", "VARCHAR", required=True, description="Adapter that read it."),
        Column("document_id", "VARCHAR", required=True, description="Unique per adapter."),
        Column("batch_key", "VARCHAR", description="The invoice reference."),
        Column("number", "VARCHAR", description="Set once the ERP numbers the invoice."),
        Column("state", "VARCHAR", required=True),
        Column("party_code", "VARCHAR", description="ERP customer (party) code."),
        Column("currency", "VARCHAR", required=True),
        Column("invoice_date", "DATE"),
        Column("accounting_date", "DATE"),
        Column("untaxed_amount", "DECIMAL(18, 4)", required=True),
        Column("tax_amount", "DECIMAL(18, 4)", required=True),
        Column("total_amount", "DECIMAL(18, 4)", required=True),
    ),
)

INVOICE_LINES = SourceSchema(
    system="erp_api",
    entity="invoice_lines",
    key=("erp_adapter", "line_id"),
    description="Lines of those invoices, with the correlation ids each line key bills.",
    columns=(
        Column("erp_adapter", "VARCHAR", required=True),
        Column("document_id", "VARCHAR", required=True),
        Column("line_id", "VARCHAR", required=True),
        Column("batch_key", "VARCHAR"),
        Column("line_key", "VARCHAR", description="The line key the write-back gave the line."),
        Column("description", "VARCHAR", required=True),
        Column("product_code", "VARCHAR"),
        Column("quantity", "DECIMAL(18, 2)", required=True),
        Column("unit_price", "DECIMAL(18, 4)", required=True),
        Column("amount", "DECIMAL(18, 4)", required=True),
        Column("tax_codes", "VARCHAR[]", required=True),
        Column(
            "correlation_ids",
            "VARCHAR[]",
            description="From ops.erp_outbox_lines by line key; NULL: unknown line key.",
        ),
    ),
)

INVOICE_STATUS = SourceSchema(
    system="erp_api",
    entity="invoice_status",
    key=("erp_adapter", "document_id"),
    description=(
        "One row per reading of an invoice not yet final: state, due date and payments, read "
        "daily by the ERP feedback (insert-only: every reading is kept, the newest wins)."
    ),
    columns=(
        Column("erp_adapter", "VARCHAR", required=True),
        Column("document_id", "VARCHAR", required=True),
        Column("batch_key", "VARCHAR"),
        Column("state", "VARCHAR", required=True),
        Column("currency", "VARCHAR", required=True),
        Column("total_amount", "DECIMAL(18, 4)", required=True),
        Column("due_date", "DATE", description="Earliest maturity of the amounts to pay."),
        Column("amount_paid", "DECIMAL(18, 4)", description="NULL: the ERP cannot tell."),
        Column("amount_due", "DECIMAL(18, 4)", description="NULL: not posted, or unknown."),
        Column("paid_date", "DATE", description="The day it became fully paid."),
        Column("last_payment_date", "DATE", description="The latest payment booked against it."),
    ),
)

#: The read-back tables, invoices first, then the feedback's status readings.
SCHEMAS = (INVOICES, INVOICE_LINES, INVOICE_STATUS)
