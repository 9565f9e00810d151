"""Freeze: candidate billing batches into the outbox, idempotently.

New batches enter ``ready``, or ``awaiting_release`` behind the release gate
(:mod:`erp.outbox.releasing`), as the caller asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from erp.model import BillingBatch
from erp.outbox import store
from erp.outbox.resync import drop_erp_billed
from erp.outbox.store import (
    AWAITING_RELEASE,
    DEAD_LETTER,
    READY,
    Audit,
    ensure_schema,
    existing_batches,
    in_transaction,
    insert_rows,
)


@dataclass
class FreezeResult:
    """What :func:`freeze` did with each batch key."""

    frozen: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)


def freeze(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[BillingBatch],
    run_id: str,
    actor: str = "erp.freeze",
    *,
    await_release: bool = False,
) -> FreezeResult:
    """Write candidate batches to ``ops.erp_outbox`` as ``ready``, idempotently.

    With ``await_release`` new batches wait in ``awaiting_release`` instead, until released
    (:func:`erp.outbox.releasing.release`): the billing run's gate before sending.

    - A key already frozen with the same payload: no-op (``unchanged``).
    - A key already frozen with a different payload (a correction: rate, tax code,
      description; the key covers identity and correlation ids only): accepted only while
      the batch is ``dead_letter``, i.e. known not to be in the ERP (``corrected``; it is
      then sent again by :func:`replay_dead_letters`). Otherwise ``rejected``: the ERP may
      already hold the old content.
    - A new batch billing a correlation id that another batch already holds, or that an ERP
      invoice of another key bills (``ops.erp_billed_records``, :mod:`erp.outbox.resync`):
      ``rejected``, whole. A line is never frozen twice.
    All accepted changes commit in one transaction with their audit rows.
    """
    ensure_schema(con)
    batches = list(batches)
    result = FreezeResult()
    by_key: dict[str, BillingBatch] = {}
    for batch in batches:
        if batch.batch_key in by_key:
            if by_key[batch.batch_key].payload_hash() != batch.payload_hash():
                result.rejected[batch.batch_key] = "two different payloads under one key"
            continue
        by_key[batch.batch_key] = batch

    def work() -> None:
        existing = existing_batches(con, list(by_key))
        audit = Audit(run_id, actor)
        new: list[BillingBatch] = []
        corrections: list[BillingBatch] = []
        for key, batch in by_key.items():
            if key in result.rejected:
                continue
            if key not in existing:
                new.append(batch)
                continue
            status, old_hash = existing[key]
            if old_hash == batch.payload_hash():
                result.unchanged.append(key)
            elif status == DEAD_LETTER:
                corrections.append(batch)
            else:
                result.rejected[key] = (
                    f"payload changed under key {key} already {status}; the ERP may hold the "
                    "old content: bill the difference in a new batch"
                )
        # ERP-billed records first, so a rejected batch claims none of its ids from the others.
        new = _drop_overlaps(con, drop_erp_billed(con, new, result.rejected), result)
        for batch in corrections:
            con.execute(
                "DELETE FROM ops.erp_outbox_correlations WHERE batch_key = ?", [batch.batch_key]
            )
            con.execute("DELETE FROM ops.erp_outbox_lines WHERE batch_key = ?", [batch.batch_key])
        corrections = _drop_overlaps(con, corrections, result)
        now = store.now_utc()
        status = AWAITING_RELEASE if await_release else READY
        insert_rows(con, "ops.erp_outbox", [_outbox_row(b, run_id, now, status) for b in new])
        for batch in corrections:
            totals = batch.control_totals()
            con.execute(
                """
                UPDATE ops.erp_outbox SET payload = ?, payload_hash = ?, line_count = ?,
                    total_quantity = ?, total_amount = ?, expected_tax = ?,
                    updated_at = ? WHERE batch_key = ? AND status = ?
                """,
                [
                    json.dumps(batch.to_payload()),
                    batch.payload_hash(),
                    totals.line_count,
                    totals.quantity,
                    totals.amount,
                    totals.tax_amount,
                    now,
                    batch.batch_key,
                    DEAD_LETTER,
                ],
            )
            audit.add(
                batch.batch_key,
                "payload_corrected",
                DEAD_LETTER,
                DEAD_LETTER,
                {
                    "payload_hash": batch.payload_hash(),
                    "old_payload_hash": existing[batch.batch_key][1],
                },
            )
            result.corrected.append(batch.batch_key)
        accepted = [*new, *corrections]
        insert_rows(con, "ops.erp_outbox_lines", [r for b in accepted for r in _line_rows(b)])
        insert_rows(
            con,
            "ops.erp_outbox_correlations",
            [
                {"correlation_id": cid, "line_key": line.line_key, "batch_key": b.batch_key}
                for b in accepted
                for line in b.lines
                for cid in line.correlation_ids
            ],
        )
        for batch in new:
            totals = batch.control_totals()
            audit.add(
                batch.batch_key,
                "frozen",
                None,
                status,
                {"period": batch.period, **totals.as_dict()},
            )
            result.frozen.append(batch.batch_key)
        audit.write(con)

    in_transaction(con, work)
    return result


def _drop_overlaps(
    con: duckdb.DuckDBPyConnection, batches: list[BillingBatch], result: FreezeResult
) -> list[BillingBatch]:
    """Reject batches billing a correlation id already frozen or claimed earlier in the list."""
    if not batches:
        return []
    cids = pa.table(
        {
            "correlation_id": [c for b in batches for c in b.correlation_ids],
            "candidate": [b.batch_key for b in batches for _ in b.correlation_ids],
        }
    )
    con.register("_erp_cids", cids)
    try:
        taken = con.execute(
            """
            SELECT c.candidate, min(f.batch_key), count(*)
            FROM _erp_cids c JOIN ops.erp_outbox_correlations f USING (correlation_id)
            GROUP BY c.candidate
            """
        ).fetchall()
    finally:
        con.unregister("_erp_cids")
    blocked = {cand: (other, n) for cand, other, n in taken}
    kept: list[BillingBatch] = []
    claimed: dict[str, str] = {}
    for batch in batches:
        if batch.batch_key in blocked:
            other, n = blocked[batch.batch_key]
            result.rejected[batch.batch_key] = (
                f"{n} correlation id(s) already frozen in batch {other}"
            )
            continue
        clash = next((claimed[c] for c in batch.correlation_ids if c in claimed), None)
        if clash:
            result.rejected[batch.batch_key] = f"correlation ids also in candidate batch {clash}"
            continue
        claimed.update(dict.fromkeys(batch.correlation_ids, batch.batch_key))
        kept.append(batch)
    return kept


def _outbox_row(batch: BillingBatch, run_id: str, now: datetime, status: str) -> dict[str, Any]:
    totals = batch.control_totals()
    return {
        "batch_key": batch.batch_key,
        **batch.identity(),
        "payload": json.dumps(batch.to_payload()),
        "payload_hash": batch.payload_hash(),
        "line_count": totals.line_count,
        "total_quantity": totals.quantity,
        "total_amount": totals.amount,
        "expected_tax": totals.tax_amount,
        "status": status,
        "attempts": 0,
        "frozen_by_run": run_id,
        "frozen_at": now,
        "updated_at": now,
    }


def _line_rows(batch: BillingBatch) -> list[dict[str, Any]]:
    return [
        {
            "line_key": line.line_key,
            "batch_key": batch.batch_key,
            "line_number": number,
            "kind": line.kind,
            "category": line.category,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount": line.amount(batch.currency),
            "tax_code": line.tax_code,
            "expected_tax": line.tax_amount,
            "correlation_ids": list(line.correlation_ids),
        }
        for number, line in enumerate(batch.lines, start=1)
    ]
