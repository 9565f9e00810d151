"""ERP feedback: the state, due date and payments of our invoices, read back daily.

Billing reads an invoice back once, when it is sent; after that the ERP numbers, posts and
collects it. The feedback reads every invoice the outbox created that is not final yet (its
newest reading is not ``paid`` or ``cancelled``, :data:`erp.adapters.base.FINAL_STATES`) and
appends one reading per invoice to ``raw.erp_api__invoice_status``: insert-only, so the
history of an invoice's state stays, and dbt takes the newest reading known at the as-of
date (``stg_erp_api__invoice_status``). A final invoice is never read again. Independent of
billing: it sends nothing, reads no candidates, and runs on its own daily schedule
(``erp_feedback``) or ``d2b erp-feedback``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa

from erp.adapters.base import FINAL_STATES, ErpAdapter, ErpInvoiceStatus
from erp.outbox import store
from erp.outbox.store import ensure_schema, in_transaction
from ingest.sinks import DuckDBSink, LoadContext
from ingest.sources import erp_api


@dataclass(frozen=True)
class FeedbackResult:
    """What one feedback read: the invoices asked for, the readings stored, by state."""

    load_id: str
    asked: int
    read: int
    states: dict[str, int]


def open_batch_keys(con: duckdb.DuckDBPyConnection, adapter_name: str) -> list[str]:
    """Batch keys of the outbox's ERP invoices whose newest reading is not final.

    An invoice never read yet counts as open.
    """
    ensure_schema(con)
    rows = con.execute(
        """
        WITH newest AS (
            SELECT batch_key, state
            FROM raw.erp_api__invoice_status
            WHERE erp_adapter = ?
            QUALIFY row_number() OVER (
                PARTITION BY batch_key ORDER BY _ingested_at DESC, _load_id DESC
            ) = 1
        )
        SELECT o.batch_key
        FROM ops.erp_outbox AS o
        LEFT JOIN newest AS n USING (batch_key)
        WHERE o.erp_document_id IS NOT NULL
          AND (n.state IS NULL OR n.state NOT IN (SELECT unnest(?::VARCHAR[])))
        ORDER BY o.batch_key
        """,
        [adapter_name, sorted(FINAL_STATES)],
    ).fetchall()
    return [key for (key,) in rows]


def read_feedback(
    con: duckdb.DuckDBPyConnection, adapter: ErpAdapter, run_id: str
) -> FeedbackResult:
    """Read the open invoices' state, due date and payments into ``raw.erp_api__invoice_status``.

    One reading per invoice, appended in one transaction with the standard lineage
    (``_load_id`` = ``erp-feedback-<run id>``, ``_ingested_at`` = the time of the reading).
    """
    keys = open_batch_keys(con, adapter.name)
    statuses = adapter.read_statuses(keys) if keys else []
    load = feedback_load(adapter.name, run_id, statuses)
    rows = [
        {"_path": load.source_file, "_row_number": number, **_status_row(status, adapter.name)}
        for number, status in enumerate(statuses, start=1)
    ]
    if rows:
        sink = DuckDBSink(con)
        in_transaction(
            con,
            lambda: sink.write_records(
                erp_api.INVOICE_STATUS, pa.Table.from_pylist(rows), {load.source_file: load}
            ),
        )
    states: dict[str, int] = {}
    for status in statuses:
        states[status.state] = states.get(status.state, 0) + 1
    return FeedbackResult(load.load_id, len(keys), len(rows), dict(sorted(states.items())))


def feedback_load(adapter_name: str, run_id: str, statuses: list[ErpInvoiceStatus]) -> LoadContext:
    """The lineage of one feedback reading (``erp_api://<adapter>/invoice_status``)."""
    payload = json.dumps([asdict(status) for status in statuses], sort_keys=True, default=str)
    return LoadContext(
        load_id=f"erp-feedback-{run_id}",
        source_file=f"erp_api://{adapter_name}/invoice_status",
        file_sha256=hashlib.sha256(payload.encode()).hexdigest(),
        ingested_at=store.now_utc(),
    )


def _status_row(status: ErpInvoiceStatus, adapter: str) -> dict[str, Any]:
    return {
        "erp_adapter": adapter,
        "document_id": status.document_id,
        "batch_key": status.batch_key,
        "state": status.state,
        "currency": status.currency,
        "total_amount": status.total_amount,
        "due_date": status.due_date,
        "amount_paid": status.amount_paid,
        "amount_due": status.amount_due,
        "paid_date": status.paid_date,
        "last_payment_date": status.last_payment_date,
    }
