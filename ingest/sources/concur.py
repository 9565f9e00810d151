"""SAP Concur Standard Accounting Extract (SAE): expense entries of approved reports.

The DETAIL fields are the tenant's positional column map (``ingest/config/
concur_sae_columns.csv``, shared with the generator); the schema is built from it, so a
changed map changes the parser and the raw table together.
"""

from __future__ import annotations

import re

from ingest.config import SAE_COLUMNS_FILE, read_csv, sae_columns
from ingest.schema import Column, SourceSchema
from ingest.sources.base import SaeReader, SourceEntity
from ingest.sources.cadence import EXPENSES_DAILY

#: Largest plausible single expense entry; more is a keying error (``out_of_range``).
MAX_EXPENSE_AMOUNT = 1_000_000

_TYPES = {"text": "VARCHAR", "integer": "BIGINT", "date": "DATE", "timestamp": "TIMESTAMP"}
_AMOUNT_FIELDS = {
    "Report Entry Transaction Amount",
    "Report Entry Posted Amount",
    "Report Entry Approved Amount",
    "Journal Amount",
}


def column_name(field_name: str) -> str:
    """Raw column name of an SAE field: ``Report Entry ID`` -> ``report_entry_id``."""
    return re.sub(r"[^0-9a-z]+", "_", field_name.lower()).strip("_")


def _warehouse_type(config_type: str) -> str:
    if config_type == "Y/N":
        return "BOOLEAN"
    decimal = re.fullmatch(r"decimal\((\d+) (\d+)\)", config_type)
    if decimal:
        return f"DECIMAL({decimal.group(1)}, {decimal.group(2)})"
    return _TYPES[config_type]


def _columns() -> tuple[Column, ...]:
    columns = []
    for row in sorted(read_csv(SAE_COLUMNS_FILE), key=lambda r: int(r["position"])):
        name = row["field_name"]
        amount = name in _AMOUNT_FIELDS
        columns.append(
            Column(
                column_name(name),
                _warehouse_type(row["type"]),
                source=name,
                required=row["nullable"] == "no",
                minimum=0 if amount else None,
                maximum=MAX_EXPENSE_AMOUNT if amount else None,
                description=row["description"],
            )
        )
    return tuple(columns)


EXPENSES = SourceSchema(
    system="concur",
    entity="expenses",
    key=("report_entry_id",),
    description="Expense entries of approved Concur reports, one weekly SAE batch per file.",
    columns=_columns(),
)

#: How often the firm loads concur (ingest/sources/cadence.py).
CADENCE = EXPENSES_DAILY

ENTITIES = (
    SourceEntity(schema=EXPENSES, reader=SaeReader(fields=sae_columns()), file_suffixes=(".txt",)),
)
