"""Plan (dry run): what freeze and send would do with each batch, writing nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from erp.adapters.base import (
    ErpAdapter,
)
from erp.model import HOURLY_KINDS, BillingBatch
from erp.outbox.resync import BilledRecord
from erp.outbox.store import (
    AWAITING_RELEASE,
    DEAD_LETTER,
    FAILED_RETRYABLE,
    MISMATCH,
    READY,
    RECONCILED,
    SENT,
    existing_batches,
    load_batches,
    outbox_exists,
)


@dataclass(frozen=True)
class PlanItem:
    """What a billing run would do with one batch, and why."""

    batch_key: str
    client_ref: str
    period: str
    status: str | None
    action: str  # freeze_and_create | create | retry | adopt | skip | hold | reject | exclude
    reason: str
    line_count: int
    amount: str
    currency: str


def plan(
    con: duckdb.DuckDBPyConnection,
    adapter: ErpAdapter,
    candidates: Iterable[BillingBatch] = (),
    excluded: Iterable[tuple[dict[str, Any], BilledRecord]] = (),
) -> list[PlanItem]:
    """Dry run: per batch, what freeze and send would create, update or skip. Writes nothing.

    ``excluded`` are the candidate records left out because the ERP or the outbox already
    bills them (:func:`erp.outbox.resync.split_billed`): one ``exclude`` item each, under
    the batch key that bills it.

    Looks every pending key up in the ERP, so the plan reflects a crash between the ERP
    create and the outbox update (``adopt``: the outbox would record the existing document,
    nothing is created). Works on a read-only connection, also before anything was frozen
    (then every candidate is new unless the ERP holds its key).
    """
    items: list[PlanItem] = []
    candidates = list(candidates)
    # what the outbox holds; nothing when no batch was ever frozen (no ops tables yet)
    existing: dict[str, tuple[str, str]] = {}
    claimed_by: dict[str, str] = {}
    pending: list[tuple[BillingBatch, dict[str, Any]]] = []
    done: list[tuple[Any, ...]] = []
    if outbox_exists(con):
        existing = existing_batches(con, [b.batch_key for b in candidates])
        claimed_by = dict(
            con.execute(
                "SELECT correlation_id, batch_key FROM ops.erp_outbox_correlations "
                "WHERE correlation_id IN (SELECT unnest(?::VARCHAR[]))",
                [[c for b in candidates for c in b.correlation_ids]],
            ).fetchall()
        )
        pending = load_batches(con, [READY, FAILED_RETRYABLE, DEAD_LETTER])
        done = con.execute(
            "SELECT batch_key, client_ref, period, status, line_count, total_amount, currency "
            "FROM ops.erp_outbox WHERE status IN (?, ?, ?, ?) ORDER BY batch_key",
            [SENT, RECONCILED, MISMATCH, AWAITING_RELEASE],
        ).fetchall()

    def item(batch: BillingBatch, status: str | None, action: str, reason: str) -> PlanItem:
        totals = batch.control_totals()
        return PlanItem(
            batch.batch_key,
            batch.client_ref,
            batch.period,
            status,
            action,
            reason,
            totals.line_count,
            str(totals.amount),
            batch.currency,
        )

    in_erp = adapter.find_by_keys(
        [b.batch_key for b, _ in pending]
        + [b.batch_key for b in candidates if b.batch_key not in existing]
    )
    for batch in candidates:
        if batch.batch_key in existing:
            status, digest = existing[batch.batch_key]
            if digest != batch.payload_hash() and status != DEAD_LETTER:
                items.append(item(batch, status, "reject", "payload changed under a sent key"))
            continue  # reported below with the outbox rows
        other = {claimed_by[c] for c in batch.correlation_ids if c in claimed_by}
        if other:
            items.append(item(batch, None, "reject", f"lines already frozen in {sorted(other)}"))
        elif batch.batch_key in in_erp:
            items.append(item(batch, None, "adopt", "not frozen but the ERP holds the key"))
        else:
            items.append(item(batch, None, "freeze_and_create", "new batch"))
    for batch, row in pending:
        docs = in_erp.get(batch.batch_key)
        status = row["status"]
        if status == DEAD_LETTER:
            action, reason = "hold", f"dead letter until replayed: {row['last_error']}"
        elif docs:
            action = "adopt"
            reason = f"ERP already holds document {docs[0].document_id}: record it, create nothing"
        elif status == FAILED_RETRYABLE:
            action, reason = "retry", f"attempt {row['attempts'] + 1}: {row['last_error']}"
        else:
            action, reason = "create", "not in the ERP yet"
        items.append(item(batch, status, action, reason))
    for row, billed in excluded:
        where = f"ERP invoice {billed.document_id}" if billed.source == "erp" else "the outbox"
        items.append(
            PlanItem(
                billed.batch_key or "",
                row["client_ref"],
                row["period"],
                None,
                "exclude",
                f"record {row['correlation_id']} already billed by {where}",
                1,
                str(_record_amount(row)),
                row["currency"],
            )
        )
    for key, client, period, status, count, amount, currency in done:
        items.append(
            PlanItem(
                key,
                client,
                period,
                status,
                *(
                    ("await_release", "frozen, not sent until released")
                    if status == AWAITING_RELEASE
                    else ("skip", "already in the ERP")
                ),
                count,
                str(amount),
                currency,
            )
        )
    return items


def _record_amount(row: dict[str, Any]) -> Decimal:
    """A candidate record's untaxed amount: hours x rate for an hourly kind, else its amount."""
    if row["line_kind"] in HOURLY_KINDS:
        return Decimal(row["quantity"]) * Decimal(row["unit_price"])
    return Decimal(row["amount"])
