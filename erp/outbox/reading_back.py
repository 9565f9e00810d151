"""Read back: the ERP's copy of every outbox batch into ingest's ``raw.erp_api__*`` tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from erp.adapters.base import (
    ErpAdapter,
    ErpInvoice,
    ErpInvoiceLine,
)
from erp.outbox import store
from erp.outbox.store import (
    ensure_schema,
    in_transaction,
)
from erp.step_hook import NO_STEP_HOOK, StepHook
from ingest.sinks import DuckDBSink, LoadContext
from ingest.sources import erp_api


@dataclass(frozen=True)
class ReadBackResult:
    """What :func:`read_back` loaded."""

    load_id: str
    invoices: int
    lines: int


def read_back(
    con: duckdb.DuckDBPyConnection,
    adapter: ErpAdapter,
    run_id: str,
    faults: StepHook = NO_STEP_HOOK,
) -> ReadBackResult:
    """Load the ERP's copy of every outbox batch into ``raw.erp_api__invoices`` and ``_lines``.

    Reads every key in the outbox, whatever its status, so an invoice created by a run that
    died before recording it is visible too. Rows of the invoices read are replaced (the
    ERP's current state; history is in the audit log and the ERP) in one transaction. Lines
    get their correlation ids from ``ops.erp_outbox_lines`` by line key. The rows land
    through ingest's sink with the standard lineage (:func:`read_back_load`).
    """
    ensure_schema(con)
    keys = [k for (k,) in con.execute("SELECT batch_key FROM ops.erp_outbox ORDER BY 1").fetchall()]
    invoices = adapter.read_invoices(keys) if keys else []
    load = read_back_load(adapter.name, run_id, invoices, store.now_utc())
    invoice_rows = [
        {"_path": load.source_file, "_row_number": number, **_invoice_row(inv, adapter.name)}
        for number, inv in enumerate(invoices, start=1)
    ]
    line_rows = [
        {"_path": load.source_file, "_row_number": number, **row}
        for number, row in enumerate(
            (_line_row(inv, line, adapter.name) for inv in invoices for line in inv.lines),
            start=1,
        )
    ]
    sink = DuckDBSink(con)
    loads = {load.source_file: load}

    def work() -> None:
        con.execute("DELETE FROM raw.erp_api__invoice_lines WHERE erp_adapter = ?", [adapter.name])
        con.execute("DELETE FROM raw.erp_api__invoices WHERE erp_adapter = ?", [adapter.name])
        if invoice_rows:
            sink.write_records(erp_api.INVOICES, pa.Table.from_pylist(invoice_rows), loads)
        faults.hit("mid_read_back")
        if line_rows:
            con.register("_erp_lines", pa.Table.from_pylist(line_rows))
            try:
                lines = con.sql(
                    "SELECT l.*, o.correlation_ids FROM _erp_lines l "
                    "LEFT JOIN ops.erp_outbox_lines o USING (line_key) ORDER BY l._row_number"
                ).to_arrow_table()
            finally:
                con.unregister("_erp_lines")
            sink.write_records(erp_api.INVOICE_LINES, lines, loads)

    in_transaction(con, work)
    return ReadBackResult(load.load_id, len(invoice_rows), len(line_rows))


def read_back_load(
    adapter_name: str, run_id: str, invoices: Sequence[ErpInvoice], read_at: datetime
) -> LoadContext:
    """The lineage of one read-back, stamped on every row it lands (docs/sources.md erp_api).

    An API read has no file: ``_source_file`` names the adapter's invoice endpoint
    (``erp_api://<adapter>/invoices``), ``_file_sha256`` hashes the payload read (every
    invoice with its lines, canonical JSON: equal hashes mean the ERP's copy did not
    change), ``_load_id`` is the read-back id ``erp-read-back-<run id>``.
    """
    payload = json.dumps([asdict(invoice) for invoice in invoices], sort_keys=True, default=str)
    return LoadContext(
        load_id=f"erp-read-back-{run_id}",
        source_file=f"erp_api://{adapter_name}/invoices",
        file_sha256=hashlib.sha256(payload.encode()).hexdigest(),
        ingested_at=read_at,
    )


def _invoice_row(inv: ErpInvoice, adapter: str) -> dict[str, Any]:
    return {
        "erp_adapter": adapter,
        "document_id": inv.document_id,
        "batch_key": inv.batch_key,
        "number": inv.number,
        "state": inv.state,
        "party_code": inv.party_code,
        "currency": inv.currency,
        "invoice_date": inv.invoice_date,
        "accounting_date": inv.accounting_date,
        "untaxed_amount": inv.untaxed_amount,
        "tax_amount": inv.tax_amount,
        "total_amount": inv.total_amount,
    }


def _line_row(inv: ErpInvoice, line: ErpInvoiceLine, adapter: str) -> dict[str, Any]:
    return {
        "erp_adapter": adapter,
        "document_id": inv.document_id,
        "line_id": line.line_id,
        "batch_key": inv.batch_key,
        "line_key": line.line_key,
        "description": line.description,
        "product_code": line.product_code,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount": line.amount,
        "tax_codes": list(line.tax_codes),
    }
