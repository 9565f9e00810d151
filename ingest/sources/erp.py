"""Legacy ERP (NetSuite-like) CSV exports: invoices, invoice lines, expense postings, FX rates.

Invoices created by our own write-back are read back from the ERP's API instead
(``erp.outbox.read_back``); these files are the history before it.
"""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import CsvReader, SourceEntity
from ingest.sources.cadence import EXPENSES_DAILY

INVOICES = SourceSchema(
    system="erp",
    entity="invoices",
    key=("internal_id",),
    description="Customer invoices by transaction month, with release and payment state.",
    columns=(
        Column("internal_id", "BIGINT", required=True),
        Column("tranid", "VARCHAR", required=True, description="Invoice number."),
        Column("entity_id", "VARCHAR", required=True, description="ERP customer id."),
        Column("entity_name", "VARCHAR"),
        Column("customer_external_id", "VARCHAR", description="Salesforce account Id."),
        Column("subsidiary", "VARCHAR", required=True, description="Legal entity."),
        Column("currency", "VARCHAR", required=True),
        Column("exchange_rate", "DECIMAL(18, 6)"),
        Column("trandate", "DATE", required=True),
        Column("posting_period", "VARCHAR"),
        Column("approval_status", "VARCHAR"),
        Column("status", "VARCHAR", required=True),
        Column("released_date", "DATE"),
        Column("due_date", "DATE"),
        Column("terms", "VARCHAR"),
        Column("subtotal", "DECIMAL(18, 2)", required=True),
        Column("tax_total", "DECIMAL(18, 2)"),
        Column("total", "DECIMAL(18, 2)", required=True),
        Column("amount_paid", "DECIMAL(18, 2)"),
        Column("amount_remaining", "DECIMAL(18, 2)"),
        Column("paid_date", "DATE"),
        Column("custbody_sf_contract_id", "VARCHAR"),
        Column("custbody_psa_project_code", "VARCHAR"),
        Column("memo", "VARCHAR"),
        Column("created_date", "TIMESTAMP"),
        Column("last_modified_date", "TIMESTAMP", required=True),
    ),
)

INVOICE_LINES = SourceSchema(
    system="erp",
    entity="invoice_lines",
    key=("line_id",),
    description="Invoice lines; custcol_psa_source_ids lists the PSA/Concur records billed.",
    columns=(
        Column("line_id", "BIGINT", required=True),
        Column("invoice_internal_id", "BIGINT", required=True),
        Column("line_number", "INTEGER"),
        Column("item", "VARCHAR"),
        Column("description", "VARCHAR"),
        Column("quantity", "DECIMAL(18, 2)", required=True),
        Column("rate", "DECIMAL(18, 4)"),
        Column("amount", "DECIMAL(18, 2)", required=True),
        Column("tax_code", "VARCHAR"),
        Column("tax_rate", "DECIMAL(8, 4)"),
        Column("tax_amount", "DECIMAL(18, 2)"),
        Column("custcol_line_kind", "VARCHAR"),
        Column("custcol_psa_project_code", "VARCHAR"),
        Column("custcol_psa_source_ids", "VARCHAR"),
    ),
)

EXPENSE_POSTINGS = SourceSchema(
    system="erp",
    entity="expense_postings",
    key=("line_id",),
    description="Expense journal lines posted from Concur batches (one per Concur entry).",
    columns=(
        Column("journal_internal_id", "BIGINT", required=True),
        Column("journal_tranid", "VARCHAR"),
        Column("line_id", "BIGINT", required=True),
        Column("subsidiary", "VARCHAR", required=True),
        Column("posted_date", "DATE", required=True),
        Column("posting_period", "VARCHAR"),
        Column("gl_account", "VARCHAR"),
        Column("amount", "DECIMAL(18, 2)", required=True),
        Column("currency", "VARCHAR", required=True),
        Column("employee_id", "VARCHAR"),
        Column("concur_report_id", "VARCHAR"),
        Column("concur_entry_id", "BIGINT", required=True),
        Column("memo", "VARCHAR"),
    ),
)

FX_RATES = SourceSchema(
    system="erp",
    entity="fx_rates",
    key=("effective_date", "transaction_currency"),
    snapshot=True,
    description="Daily exchange rates: USD per one unit of the transaction currency.",
    columns=(
        Column("effective_date", "DATE", required=True),
        Column("base_currency", "VARCHAR", required=True),
        Column("transaction_currency", "VARCHAR", required=True),
        Column("exchange_rate", "DECIMAL(18, 6)", required=True),
    ),
)

#: How often the firm loads erp (ingest/sources/cadence.py).
CADENCE = EXPENSES_DAILY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = ()

ENTITIES = tuple(
    SourceEntity(schema=schema, reader=CsvReader(), file_suffixes=(".csv",))
    for schema in (INVOICES, INVOICE_LINES, EXPENSE_POSTINGS, FX_RATES)
)
