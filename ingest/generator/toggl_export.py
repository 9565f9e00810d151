"""The Toggl Track detailed-report CSV as the sample firm's integration delivers it.

Toggl's stock columns in Toggl's order, the amount in the workspace currency, then the
columns the integration adds (entry id and approval audit). Both column lists are the
parser's (:mod:`ingest.sources.toggl`), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingest.generator.writers import csv_bytes
from ingest.sources.toggl import EXTRA_COLUMNS, STOCK_COLUMNS

#: The acquired subsidiary's (NL01) workspace currency.
WORKSPACE_CURRENCY = "EUR"

#: Header of the delivered CSV: stock columns, ``Amount (EUR)``, the integration's extras.
DETAILED_REPORT_HEADER = (*STOCK_COLUMNS, f"Amount ({WORKSPACE_CURRENCY})", *EXTRA_COLUMNS)


def detailed_report_csv(rows: Iterable[Sequence[object]]) -> bytes:
    """One detailed-report CSV file; each row has a value per :data:`DETAILED_REPORT_HEADER`."""
    return csv_bytes(DETAILED_REPORT_HEADER, rows)
