"""Re-sync: the records the ERP already bills, read from its invoice lines before any freeze.

Every ERP invoice line the write-back creates carries the correlation ids it bills (Tryton
line note, file-drop ``correlation_ids`` column: :func:`erp.keys.line_note`). Reading them
back makes the ERP itself the record of what is billed, so neither a rebuilt warehouse nor a
lost or restored-old billing store can bill a time entry or expense twice:

- :func:`resync` replaces ``ops.erp_billed_records`` with what the ERP holds now;
- :func:`split_billed` drops, record by record, the candidates the ERP (or the outbox)
  already bills, before they are grouped into batches; the dry run lists them;
- :func:`drop_erp_billed` is the freeze's own backstop: a new batch billing a record that
  an ERP invoice of another batch key already bills is rejected whole;
- :func:`create_unless_billed` is the send's: such a batch is dead-lettered, never created
  (the freeze may have used an older re-sync while the ERP was unreachable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from erp.adapters.base import (
    BusinessErpError,
    CreateResult,
    ErpAdapter,
    ErpInvoice,
    TransientErpError,
)
from erp.model import BillingBatch
from erp.outbox import store
from erp.outbox.store import in_transaction, insert_rows
from ingest.warehouse import table_exists

BILLED_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.erp_billed_records (
    correlation_id VARCHAR NOT NULL,      -- a record an ERP invoice line bills
    erp_adapter VARCHAR NOT NULL,
    document_id VARCHAR NOT NULL,         -- the ERP invoice
    batch_key VARCHAR,                    -- the invoice reference
    line_key VARCHAR,
    erp_state VARCHAR NOT NULL,
    synced_by_run VARCHAR NOT NULL,
    synced_at TIMESTAMP NOT NULL
);
"""


@dataclass(frozen=True)
class ResyncResult:
    """What :func:`resync` read from the ERP."""

    invoices: int
    records: int
    #: Why the ERP could not be read (the last re-sync was kept), else None.
    error: str | None = None


@dataclass(frozen=True)
class BilledRecord:
    """A record the ERP (or the outbox) already bills, and where."""

    correlation_id: str
    batch_key: str | None
    document_id: str | None
    source: str  # "erp" (an ERP invoice line) | "outbox" (frozen in a batch)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``ops.erp_billed_records`` if absent."""
    con.execute(BILLED_DDL)


def billed_rows(invoices: Iterable[ErpInvoice], adapter_name: str) -> list[dict[str, Any]]:
    """One row per (ERP invoice line, correlation id it bills)."""
    return [
        {
            "correlation_id": cid,
            "erp_adapter": adapter_name,
            "document_id": invoice.document_id,
            "batch_key": invoice.batch_key,
            "line_key": line.line_key,
            "erp_state": invoice.state,
        }
        for invoice in invoices
        for line in invoice.lines
        for cid in line.correlation_ids
    ]


def resync(con: duckdb.DuckDBPyConnection, adapter: ErpAdapter, run_id: str) -> ResyncResult:
    """Replace ``ops.erp_billed_records`` with the records every ERP write-back invoice bills.

    Reads all the ERP's write-back invoices (not only the outbox's keys: the outbox may be
    lost or older than the ERP), in one transaction per adapter.
    """
    ensure_schema(con)
    invoices = adapter.read_invoices(None)
    now = store.now_utc()
    rows = [
        {**row, "synced_by_run": run_id, "synced_at": now}
        for row in billed_rows(invoices, adapter.name)
    ]

    def work() -> None:
        con.execute("DELETE FROM ops.erp_billed_records WHERE erp_adapter = ?", [adapter.name])
        insert_rows(con, "ops.erp_billed_records", rows)

    in_transaction(con, work)
    return ResyncResult(len(invoices), len(rows))


def read_erp_billed(adapter: ErpAdapter) -> list[BilledRecord]:
    """The records the ERP bills now, read without writing anything (the dry run's re-sync)."""
    return [
        BilledRecord(row["correlation_id"], row["batch_key"], row["document_id"], "erp")
        for row in billed_rows(adapter.read_invoices(None), adapter.name)
    ]


def resync_or_keep(
    con: duckdb.DuckDBPyConnection, adapter: ErpAdapter, run_id: str
) -> ResyncResult:
    """:func:`resync`; when the ERP is unreachable, keep the last re-sync and say why.

    Freezing on the last re-sync is safe: sending checks the ERP again before creating
    anything (:func:`create_unless_billed`).
    """
    try:
        return resync(con, adapter, run_id)
    except TransientErpError as error:
        ensure_schema(con)
        (kept,) = con.execute(
            "SELECT count(*) FROM ops.erp_billed_records WHERE erp_adapter = ?", [adapter.name]
        ).fetchone()
        return ResyncResult(0, kept, str(error))


def billed_records(
    con: duckdb.DuckDBPyConnection,
    correlation_ids: Iterable[str],
    erp_billed: Iterable[BilledRecord] | None = None,
) -> dict[str, BilledRecord]:
    """Which of ``correlation_ids`` an ERP invoice line or an outbox batch already bills.

    The ERP's lines are ``erp_billed`` when given (:func:`read_erp_billed`), else the last
    re-sync (``ops.erp_billed_records``); they win over the outbox's correlations. Tables
    not created yet count as empty.
    """
    ids = sorted(set(correlation_ids))
    found: dict[str, BilledRecord] = {}
    if not ids:
        return found
    sources = [("outbox", "ops.erp_outbox_correlations", "NULL")]
    if erp_billed is None:
        sources.append(("erp", "ops.erp_billed_records", "document_id"))
    for source, table, document_id in sources:
        if not table_exists(con, table):
            continue
        rows = con.execute(
            f"SELECT correlation_id, batch_key, {document_id} FROM {table} "
            "WHERE correlation_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1, 2",
            [ids],
        ).fetchall()
        for cid, batch_key, document in rows:
            found[cid] = BilledRecord(cid, batch_key, document, source)
    wanted = set(ids)
    found.update({r.correlation_id: r for r in erp_billed or () if r.correlation_id in wanted})
    return found


def create_unless_billed(
    adapter: ErpAdapter,
    batches: Sequence[BillingBatch],
    create: Callable[[ErpAdapter, list[BillingBatch]], list[CreateResult]],
) -> list[CreateResult]:
    """``create`` the batches billing no record an ERP invoice of another key bills.

    The send step's check, against the ERP as it is at that moment (a freeze may have run on
    a stale re-sync while the ERP was unreachable): each other batch gets a business error
    naming those invoices, and is dead-lettered instead of billing a record twice. Reading
    the ERP fails like a create does (:class:`TransientErpError`: retried later).
    """
    billed = {r.correlation_id: r for r in read_erp_billed(adapter)}
    results: dict[str, CreateResult] = {}
    clean: list[BillingBatch] = []
    for batch in batches:
        others = sorted(
            {
                str(billed[cid].document_id)
                for cid in batch.correlation_ids
                if cid in billed and billed[cid].batch_key != batch.batch_key
            }
        )
        if others:
            error = BusinessErpError(
                f"records already billed by ERP invoice(s) {', '.join(others)}", batch.batch_key
            )
            results[batch.batch_key] = CreateResult(batch.batch_key, error=error)
        else:
            clean.append(batch)
    for result in create(adapter, clean) if clean else []:
        results[result.batch_key] = result
    return [results[batch.batch_key] for batch in batches]


def split_billed(
    con: duckdb.DuckDBPyConnection,
    rows: Iterable[dict[str, Any]],
    erp_billed: Iterable[BilledRecord] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], BilledRecord]]]:
    """Candidate rows (``erp.candidates`` columns) not billed yet, and the billed ones with where.

    Record by record, before grouping: a late approval next to a billed record forms a
    batch of its own instead of re-billing its neighbour. ``erp_billed`` as for
    :func:`billed_records`.
    """
    rows = list(rows)
    billed = billed_records(con, (row["correlation_id"] for row in rows), erp_billed)
    kept = [row for row in rows if row["correlation_id"] not in billed]
    excluded = [
        (row, billed[row["correlation_id"]]) for row in rows if row["correlation_id"] in billed
    ]
    return kept, excluded


def drop_erp_billed(
    con: duckdb.DuckDBPyConnection, batches: list[BillingBatch], rejected: dict[str, str]
) -> list[BillingBatch]:
    """The batches billing no record an ERP invoice of another key bills; the rest ``rejected``.

    A batch whose own key the ERP holds stays: sending adopts that invoice.
    """
    if not batches or not table_exists(con, "ops.erp_billed_records"):
        return batches
    pairs = pa.table(
        {
            "correlation_id": [c for b in batches for c in b.correlation_ids],
            "candidate": [b.batch_key for b in batches for _ in b.correlation_ids],
        }
    )
    con.register("_erp_candidate_ids", pairs)
    try:
        clashes = con.execute(
            """
            SELECT c.candidate, count(DISTINCT c.correlation_id), min(r.document_id)
            FROM _erp_candidate_ids c JOIN ops.erp_billed_records r USING (correlation_id)
            WHERE r.batch_key IS DISTINCT FROM c.candidate
            GROUP BY c.candidate
            """
        ).fetchall()
    finally:
        con.unregister("_erp_candidate_ids")
    for candidate, count, document_id in clashes:
        rejected[candidate] = (
            f"{count} record(s) already billed by ERP invoice {document_id} (re-synced)"
        )
    blocked = {candidate for candidate, _, _ in clashes}
    return [b for b in batches if b.batch_key not in blocked]
