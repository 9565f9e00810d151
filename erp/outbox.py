"""The exactly-once write-back state machine over the warehouse (docs/design.md §6).

::

    freeze ──► ready ──send──► sent ──read back + reconcile──► reconciled
                 │  ▲             │                               ▲  │
      transient  ▼  │ retry       └──────────► mismatch ◄─────────┘──┘
          failed_retryable              (re-checked every reconcile)
                 │
      business   ▼          replay_dead_letters (after correction)
            dead_letter ─────────────────────────────────► ready

Exactly once rests on two facts. The ERP is always asked "do you hold this batch key?"
before anything is created (the adapter's ``create_if_absent``), so a run that died after
the ERP committed and before the outbox recorded it adopts the existing invoice instead of
creating a second one. And a correlation id can be frozen into one batch only
(``ops.erp_outbox_correlations`` is keyed by it), so no time entry or expense is ever on two
batches. One writer at a time: DuckDB's file lock and the Dagster pool of 1 (docs/design.md §7)
serialise billing runs, so no two runs look up and create the same key concurrently.

Every status change writes one row to ``ops.audit_log`` in the same DuckDB transaction;
this module only ever inserts into that table.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from erp.adapters.base import (
    INVALID_STATE,
    BusinessErpError,
    CreateResult,
    ErpAdapter,
    ErpInvoice,
    ErpInvoiceLine,
    TransientErpError,
)
from erp.model import BillingBatch
from erp.step_hook import NO_STEP_HOOK, StepHook
from ingest.sinks import DuckDBSink, LoadContext
from ingest.sources import erp_api
from ingest.warehouse import ensure_raw_table

READY = "ready"
SENT = "sent"
FAILED_RETRYABLE = "failed_retryable"
DEAD_LETTER = "dead_letter"
RECONCILED = "reconciled"
MISMATCH = "mismatch"
STATUSES = (READY, SENT, FAILED_RETRYABLE, DEAD_LETTER, RECONCILED, MISMATCH)

#: Allowed status changes; anything else is a bug and raises before touching the table.
TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({READY}),
    READY: frozenset({SENT, FAILED_RETRYABLE, DEAD_LETTER}),
    FAILED_RETRYABLE: frozenset({SENT, FAILED_RETRYABLE, DEAD_LETTER}),
    DEAD_LETTER: frozenset({READY, DEAD_LETTER}),
    SENT: frozenset({RECONCILED, MISMATCH}),
    MISMATCH: frozenset({RECONCILED, MISMATCH}),
    RECONCILED: frozenset({MISMATCH}),
}

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.erp_outbox (
    batch_key VARCHAR PRIMARY KEY,        -- idempotency key: hash of identity + correlation ids
    period VARCHAR NOT NULL,              -- billing period YYYY-MM
    client_ref VARCHAR NOT NULL,          -- ERP customer (party) code
    contract_ref VARCHAR NOT NULL,
    legal_entity VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    payload JSON NOT NULL,                -- the batch as sent (BillingBatch.to_payload)
    payload_hash VARCHAR NOT NULL,
    line_count INTEGER NOT NULL,          -- control totals
    total_quantity DECIMAL(18, 2) NOT NULL,
    total_amount DECIMAL(18, 4) NOT NULL,
    expected_tax DECIMAL(18, 4) NOT NULL,
    -- ready | sent | failed_retryable | dead_letter | reconciled | mismatch
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,            -- ERP calls made for this batch
    next_attempt_at TIMESTAMP,            -- backoff: not retried before (UTC)
    last_error VARCHAR,                   -- the ERP's message (dead letter) or transient error
    erp_adapter VARCHAR,
    erp_document_id VARCHAR,
    erp_number VARCHAR,                   -- from read back once the ERP numbers the invoice
    erp_state VARCHAR,
    mismatch_reason VARCHAR,
    frozen_by_run VARCHAR NOT NULL,
    frozen_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    reconciled_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.erp_outbox_lines (
    line_key VARCHAR PRIMARY KEY,
    batch_key VARCHAR NOT NULL,
    line_number INTEGER NOT NULL,
    kind VARCHAR NOT NULL,                -- labour | expense
    category VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    quantity DECIMAL(18, 2) NOT NULL,
    unit_price DECIMAL(18, 4) NOT NULL,
    amount DECIMAL(18, 4) NOT NULL,
    tax_code VARCHAR NOT NULL,
    expected_tax DECIMAL(18, 4) NOT NULL,
    correlation_ids VARCHAR[] NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.erp_outbox_correlations (
    correlation_id VARCHAR PRIMARY KEY,   -- a time entry or expense is frozen into one batch only
    line_key VARCHAR NOT NULL,
    batch_key VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.audit_log (
    event_id VARCHAR PRIMARY KEY,
    batch_key VARCHAR NOT NULL,
    event VARCHAR NOT NULL,               -- frozen, sent, adopted, retry, dead_lettered, ...
    from_status VARCHAR,
    to_status VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    detail JSON,
    event_at TIMESTAMP NOT NULL
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``ops`` outbox and audit tables and the ``raw.erp_api__*`` tables.

    The read-back tables are ingest's raw tables of :mod:`ingest.sources.erp_api`: their
    declared columns plus the lineage every raw table carries.
    """
    con.execute(DDL)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for schema in erp_api.SCHEMAS:
        ensure_raw_table(con, schema)


def _now() -> datetime:
    # Warehouse convention: naive TIMESTAMP columns hold UTC.
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between send attempts: ``base * factor**(n-1)``, capped."""

    base_seconds: float = 2.0
    factor: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_seconds, self.base_seconds * self.factor ** max(0, attempt - 1))


NO_BACKOFF = Backoff(0.0, 1.0, 0.0)


@dataclass
class _Audit:
    """Status changes of one DuckDB transaction, applied and audited together."""

    run_id: str
    actor: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        batch_key: str,
        event: str,
        from_status: str | None,
        to_status: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if to_status not in TRANSITIONS.get(from_status, frozenset()):
            raise ValueError(f"illegal outbox transition {from_status} -> {to_status}")
        self.rows.append(
            {
                "event_id": uuid.uuid4().hex,
                "batch_key": batch_key,
                "event": event,
                "from_status": from_status,
                "to_status": to_status,
                "run_id": self.run_id,
                "actor": self.actor,
                "detail": json.dumps(detail or {}, sort_keys=True, default=str),
                "event_at": _now(),
            }
        )

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        if self.rows:
            _insert(con, "ops.audit_log", self.rows)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk insert ``rows`` (dicts with the table's column names) through Arrow."""
    if not rows:
        return
    arrow = pa.Table.from_pylist(rows)
    con.register("_erp_rows", arrow)
    try:
        columns = ", ".join(arrow.column_names)
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _erp_rows")
    finally:
        con.unregister("_erp_rows")


def _set_status(
    con: duckdb.DuckDBPyConnection, updates: list[dict[str, Any]], columns: Sequence[str]
) -> None:
    """Apply status updates guarded by the expected current status.

    Each update names ``batch_key``, ``from_status``, ``status`` and the given ``columns``.
    Raises (and the caller rolls back) if any row was not in its expected status.
    """
    if not updates:
        return
    arrow = pa.Table.from_pylist(updates)
    con.register("_erp_updates", arrow)
    try:
        assignments = ", ".join(f"{c} = u.{c}" for c in ("status", *columns))
        (changed,) = con.execute(
            f"""
            UPDATE ops.erp_outbox o SET {assignments}, updated_at = now()::TIMESTAMP
            FROM _erp_updates u
            WHERE o.batch_key = u.batch_key AND o.status IS NOT DISTINCT FROM u.from_status
            """
        ).fetchone()
    finally:
        con.unregister("_erp_updates")
    if changed != len(updates):
        raise RuntimeError(
            f"outbox changed underneath: {changed} of {len(updates)} rows in expected status"
        )


def _transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], Any]) -> Any:
    con.begin()
    try:
        result = work()
    except BaseException:
        con.rollback()
        raise
    con.commit()
    return result


# -- freeze -------------------------------------------------------------------------------


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
) -> FreezeResult:
    """Write candidate batches to ``ops.erp_outbox`` as ``ready``, idempotently.

    - A key already frozen with the same payload: no-op (``unchanged``).
    - A key already frozen with a different payload (a correction: rate, tax code,
      description; the key covers identity and correlation ids only): accepted only while
      the batch is ``dead_letter``, i.e. known not to be in the ERP (``corrected``; it is
      then sent again by :func:`replay_dead_letters`). Otherwise ``rejected``: the ERP may
      already hold the old content.
    - A new batch billing a correlation id that another batch already holds: ``rejected``,
      whole. A line is never frozen twice.
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
        existing = _existing(con, list(by_key))
        audit = _Audit(run_id, actor)
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
        new = _drop_overlaps(con, new, result)
        for batch in corrections:
            con.execute(
                "DELETE FROM ops.erp_outbox_correlations WHERE batch_key = ?", [batch.batch_key]
            )
            con.execute("DELETE FROM ops.erp_outbox_lines WHERE batch_key = ?", [batch.batch_key])
        corrections = _drop_overlaps(con, corrections, result)
        now = _now()
        _insert(con, "ops.erp_outbox", [_outbox_row(b, run_id, now) for b in new])
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
        _insert(con, "ops.erp_outbox_lines", [r for b in accepted for r in _line_rows(b)])
        _insert(
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
                batch.batch_key, "frozen", None, READY, {"period": batch.period, **totals.as_dict()}
            )
            result.frozen.append(batch.batch_key)
        audit.write(con)

    _transaction(con, work)
    return result


def _existing(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, tuple[str, str]]:
    if not keys:
        return {}
    rows = con.execute(
        "SELECT batch_key, status, payload_hash FROM ops.erp_outbox WHERE batch_key IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [keys],
    ).fetchall()
    return {key: (status, digest) for key, status, digest in rows}


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


def _outbox_row(batch: BillingBatch, run_id: str, now: datetime) -> dict[str, Any]:
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
        "status": READY,
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


def load_batches(
    con: duckdb.DuckDBPyConnection, statuses: Sequence[str], batch_keys: Iterable[str] | None = None
) -> list[tuple[BillingBatch, dict[str, Any]]]:
    """Batches in the given statuses, rebuilt from their payloads, with their outbox row."""
    sql = (
        "SELECT batch_key, payload, status, attempts, next_attempt_at, last_error, "
        "erp_document_id FROM ops.erp_outbox WHERE status IN (SELECT unnest(?::VARCHAR[]))"
    )
    params: list[Any] = [list(statuses)]
    if batch_keys is not None:
        sql += " AND batch_key IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(batch_keys))
    rows = con.execute(sql + " ORDER BY batch_key", params).fetchall()
    names = (
        "batch_key",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "erp_document_id",
    )
    out = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        out.append((BillingBatch.from_payload(json.loads(record["payload"])), record))
    return out


# -- plan (dry run) ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanItem:
    """What a billing run would do with one batch, and why."""

    batch_key: str
    client_ref: str
    period: str
    status: str | None
    action: str  # freeze_and_create | create | retry | adopt | skip | hold | reject
    reason: str
    line_count: int
    amount: str
    currency: str


def _outbox_exists(con: duckdb.DuckDBPyConnection) -> bool:
    (found,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
        "AND table_name IN ('erp_outbox', 'erp_outbox_lines', 'erp_outbox_correlations')"
    ).fetchall()[0]
    return found == 3


def plan(
    con: duckdb.DuckDBPyConnection,
    adapter: ErpAdapter,
    candidates: Iterable[BillingBatch] = (),
) -> list[PlanItem]:
    """Dry run: per batch, what freeze and send would create, update or skip. Writes nothing.

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
    if _outbox_exists(con):
        existing = _existing(con, [b.batch_key for b in candidates])
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
            "FROM ops.erp_outbox WHERE status IN (?, ?, ?) ORDER BY batch_key",
            [SENT, RECONCILED, MISMATCH],
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
    for key, client, period, status, count, amount, currency in done:
        items.append(
            PlanItem(
                key,
                client,
                period,
                status,
                "skip",
                "already in the ERP",
                count,
                str(amount),
                currency,
            )
        )
    return items


# -- send ----------------------------------------------------------------------------------


@dataclass
class SendResult:
    """Counts of one :func:`send` call."""

    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    failed_retryable: list[str] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)
    attempts: int = 0


def send(
    con: duckdb.DuckDBPyConnection,
    adapter: ErpAdapter,
    run_id: str,
    *,
    max_attempts: int = 5,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], None] = time.sleep,
    chunk_batches: int = 200,
    faults: StepHook = NO_STEP_HOOK,
    actor: str = "erp.send",
) -> SendResult:
    """Send ``ready`` and due ``failed_retryable`` batches to the ERP, exactly once.

    Per chunk: the adapter looks the keys up and creates only the absent ones (one ERP
    transaction per create call); then one DuckDB transaction records the document ids and
    moves the batches to ``sent`` (``adopted`` in the audit when the ERP already held the
    key). Transient errors: the chunk goes to ``failed_retryable`` and is retried after
    ``backoff`` up to ``max_attempts`` calls in this run; later runs retry it again once
    ``next_attempt_at`` is due. Business errors: ``dead_letter`` with the ERP's message.
    """
    ensure_schema(con)
    result = SendResult()
    now = _now()
    todo = []
    for batch, row in load_batches(con, [READY, FAILED_RETRYABLE]):
        if (
            row["status"] == FAILED_RETRYABLE
            and row["next_attempt_at"]
            and row["next_attempt_at"] > now
        ):
            result.not_due.append(batch.batch_key)
        else:
            todo.append((batch, row))
    for start in range(0, len(todo), chunk_batches):
        chunk = todo[start : start + chunk_batches]
        status = {b.batch_key: row["status"] for b, row in chunk}
        attempts = {b.batch_key: row["attempts"] for b, row in chunk}
        for attempt in range(1, max_attempts + 1):
            faults.hit("before_erp_create")
            try:
                result.attempts += 1
                outcomes = _create_isolating(adapter, [b for b, _ in chunk])
            except TransientErpError as exc:
                delay = backoff.delay(attempt)
                _record_transient(con, chunk, status, attempts, exc, delay, run_id, actor)
                for b, _ in chunk:
                    status[b.batch_key] = FAILED_RETRYABLE
                    attempts[b.batch_key] += 1
                if attempt == max_attempts:
                    result.failed_retryable += [b.batch_key for b, _ in chunk]
                    break
                sleep(delay)
                continue
            faults.hit("after_erp_create")
            _record_outcomes(
                con, chunk, status, attempts, outcomes, adapter.name, run_id, actor, result
            )
            faults.hit("after_outbox_update")
            break
    return result


def _create_isolating(adapter: ErpAdapter, batches: list[BillingBatch]) -> list[CreateResult]:
    """Call ``create_if_absent``, isolating a whole-call business error to its batch.

    The call is split when the adapter raises a business error for the whole of it instead
    of reporting it per batch.
    """
    try:
        return adapter.create_if_absent(batches)
    except BusinessErpError as exc:
        if len(batches) == 1:
            return [CreateResult(batches[0].batch_key, error=exc)]
        return [r for b in batches for r in _create_isolating(adapter, [b])]


def _record_transient(
    con: duckdb.DuckDBPyConnection,
    chunk: list[tuple[BillingBatch, dict[str, Any]]],
    status: dict[str, str],
    attempts: dict[str, int],
    exc: TransientErpError,
    delay: float,
    run_id: str,
    actor: str,
) -> None:
    audit = _Audit(run_id, actor)
    next_at = _now() + timedelta(seconds=delay)
    updates = []
    for batch, _ in chunk:
        key = batch.batch_key
        updates.append(
            {
                "batch_key": key,
                "from_status": status[key],
                "status": FAILED_RETRYABLE,
                "attempts": attempts[key] + 1,
                "last_error": str(exc),
                "next_attempt_at": next_at,
            }
        )
        audit.add(
            key,
            "transient_error",
            status[key],
            FAILED_RETRYABLE,
            {"attempt": attempts[key] + 1, "error": str(exc), "retry_after_s": delay},
        )

    def work() -> None:
        _set_status(con, updates, ("attempts", "last_error", "next_attempt_at"))
        audit.write(con)

    _transaction(con, work)


def _record_outcomes(
    con: duckdb.DuckDBPyConnection,
    chunk: list[tuple[BillingBatch, dict[str, Any]]],
    status: dict[str, str],
    attempts: dict[str, int],
    outcomes: list[CreateResult],
    adapter_name: str,
    run_id: str,
    actor: str,
    result: SendResult,
) -> None:
    audit = _Audit(run_id, actor)
    sent, dead = [], []
    now = _now()
    for (batch, _), outcome in zip(chunk, outcomes, strict=True):
        key = batch.batch_key
        if outcome.batch_key != key:
            raise RuntimeError("adapter returned results out of order")
        if outcome.error is not None:
            dead.append(
                {
                    "batch_key": key,
                    "from_status": status[key],
                    "status": DEAD_LETTER,
                    "attempts": attempts[key] + 1,
                    "last_error": outcome.error.message,
                    "next_attempt_at": None,
                }
            )
            audit.add(
                key,
                "dead_lettered",
                status[key],
                DEAD_LETTER,
                {"erp_message": outcome.error.message},
            )
            result.dead_lettered.append(key)
            continue
        sent.append(
            {
                "batch_key": key,
                "from_status": status[key],
                "status": SENT,
                "attempts": attempts[key] + 1,
                "erp_adapter": adapter_name,
                "erp_document_id": outcome.document_id,
                "sent_at": now,
                "last_error": None,
                "next_attempt_at": None,
            }
        )
        event = "sent" if outcome.created else "adopted"
        detail = {"erp_document_id": outcome.document_id, "adapter": adapter_name}
        if not outcome.created:
            detail["note"] = "ERP already held this key (earlier run died before recording it)"
        audit.add(key, event, status[key], SENT, detail)
        (result.created if outcome.created else result.adopted).append(key)

    def work() -> None:
        _set_status(
            con,
            sent,
            (
                "attempts",
                "erp_adapter",
                "erp_document_id",
                "sent_at",
                "last_error",
                "next_attempt_at",
            ),
        )
        _set_status(con, dead, ("attempts", "last_error", "next_attempt_at"))
        audit.write(con)

    _transaction(con, work)


def replay_dead_letters(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    batch_keys: Iterable[str] | None = None,
    actor: str = "erp.replay",
) -> list[str]:
    """Move dead-lettered batches back to ``ready`` once their cause is corrected.

    Correct the cause first: in the ERP (a missing currency or tax), or in the warehouse by
    re-freezing the corrected batch (same key, new payload: see :func:`freeze`). Then run
    :func:`send`. Returns the replayed keys.
    """
    ensure_schema(con)
    rows = load_batches(con, [DEAD_LETTER], batch_keys)
    audit = _Audit(run_id, actor)
    updates = []
    for batch, row in rows:
        updates.append(
            {
                "batch_key": batch.batch_key,
                "from_status": DEAD_LETTER,
                "status": READY,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": None,
            }
        )
        audit.add(
            batch.batch_key, "replayed", DEAD_LETTER, READY, {"previous_error": row["last_error"]}
        )

    def work() -> None:
        _set_status(con, updates, ("attempts", "last_error", "next_attempt_at"))
        audit.write(con)

    _transaction(con, work)
    return [u["batch_key"] for u in updates]


# -- read back and reconcile ----------------------------------------------------------------


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
    load = read_back_load(adapter.name, run_id, invoices, _now())
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

    _transaction(con, work)
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


@dataclass
class ReconcileResult:
    """Batches :func:`reconcile` found tied out, and the others with their reasons."""

    reconciled: list[str] = field(default_factory=list)
    mismatched: dict[str, str] = field(default_factory=dict)


_RECONCILE_SQL = """
WITH inv AS (
    SELECT i.batch_key, count(*) AS n_invoices, min(i.document_id) AS document_id,
           min(i.number) AS number, min(i.state) AS state, min(i.currency) AS currency,
           min(i.party_code) AS party_code,
           sum(i.untaxed_amount) AS untaxed, sum(i.tax_amount) AS tax
    FROM raw.erp_api__invoices i WHERE i.erp_adapter = $adapter GROUP BY i.batch_key
), lines AS (
    SELECT l.batch_key, count(*) AS n_lines, sum(l.quantity) AS quantity,
           count(*) FILTER (WHERE o.line_key IS NULL OR o.batch_key <> l.batch_key) AS unknown_keys,
           count(*) - count(DISTINCT l.line_key) AS duplicate_keys
    FROM raw.erp_api__invoice_lines l LEFT JOIN ops.erp_outbox_lines o USING (line_key)
    WHERE l.erp_adapter = $adapter GROUP BY l.batch_key
), missing AS (
    SELECT o.batch_key, count(*) AS missing_keys
    FROM ops.erp_outbox_lines o
    WHERE NOT EXISTS (SELECT 1 FROM raw.erp_api__invoice_lines l
                      WHERE l.line_key = o.line_key AND l.erp_adapter = $adapter)
    GROUP BY o.batch_key
)
SELECT b.batch_key, b.status, b.reconciled_at, b.erp_document_id, b.line_count, b.total_quantity,
       b.total_amount, b.expected_tax, b.currency, b.client_ref,
       inv.n_invoices, inv.document_id, inv.number, inv.state, inv.currency, inv.party_code,
       inv.untaxed, inv.tax, lines.n_lines, lines.quantity, lines.unknown_keys,
       lines.duplicate_keys, coalesce(missing.missing_keys, 0)
FROM ops.erp_outbox b
LEFT JOIN inv USING (batch_key)
LEFT JOIN lines USING (batch_key)
LEFT JOIN missing USING (batch_key)
WHERE b.status IN ($sent, $mismatch, $reconciled) AND b.erp_adapter = $adapter
ORDER BY b.batch_key
"""


def reconcile(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    adapter_name: str = "tryton",
    actor: str = "erp.reconcile",
) -> ReconcileResult:
    """Tie every sent batch out against the read back ERP copy (docs/design.md §6.4).

    Checks, per batch: exactly one ERP invoice, the recorded document id, currency and
    customer; line count, quantity, untaxed amount and tax against the frozen control
    totals; every line key present once, none unknown. ``sent`` and ``mismatch`` batches
    move to ``reconciled`` or ``mismatch`` (with the reasons); ``reconciled`` ones are
    re-checked and move to ``mismatch`` if the ERP copy changed since.
    """
    ensure_schema(con)
    rows = con.execute(
        _RECONCILE_SQL,
        {"adapter": adapter_name, "sent": SENT, "mismatch": MISMATCH, "reconciled": RECONCILED},
    ).fetchall()
    result = ReconcileResult()
    audit = _Audit(run_id, actor)
    updates: list[dict[str, Any]] = []
    now = _now()
    for row in rows:
        (
            key,
            status,
            reconciled_at,
            doc_id,
            n,
            qty,
            amount,
            tax,
            currency,
            client,
            n_inv,
            erp_doc,
            number,
            state,
            erp_currency,
            party,
            untaxed,
            erp_tax,
            n_lines,
            erp_qty,
            unknown,
            dupes,
            missing,
        ) = row
        reasons = []
        if not n_inv:
            reasons.append("not found in the ERP read back")
        else:
            if n_inv > 1:
                reasons.append(f"{n_inv} ERP invoices carry this key")
            if erp_doc != doc_id:
                reasons.append(f"ERP document {erp_doc} but outbox recorded {doc_id}")
            if state == "cancelled":
                reasons.append("cancelled in the ERP")
            if state == INVALID_STATE:
                reasons.append(
                    "the ERP's copy is invalid (unreadable, or its control totals do not tie)"
                )
            if erp_currency != currency:
                reasons.append(f"currency {erp_currency} != {currency}")
            if party != client:
                reasons.append(f"customer {party} != {client}")
            if (n_lines or 0) != n:
                reasons.append(f"line count {n_lines or 0} != {n}")
            if (erp_qty or 0) != qty:
                reasons.append(f"quantity {erp_qty} != {qty}")
            if untaxed != amount:
                reasons.append(f"amount {untaxed} != {amount}")
            if erp_tax != tax:
                reasons.append(f"tax {erp_tax} != expected {tax}")
            if unknown:
                reasons.append(f"{unknown} ERP line(s) with unknown line keys")
            if dupes:
                reasons.append(f"{dupes} line key(s) on more than one ERP line")
        if missing:
            reasons.append(f"{missing} line key(s) missing in the ERP")
        new_status = MISMATCH if reasons else RECONCILED
        reason = "; ".join(reasons) or None
        if new_status == RECONCILED:
            result.reconciled.append(key)
        else:
            result.mismatched[key] = reason
        updates.append(
            {
                "batch_key": key,
                "from_status": status,
                "status": new_status,
                "mismatch_reason": reason,
                "erp_number": number,
                "erp_state": state,
                # Still reconciled: refresh number and state (posted since), keep the date.
                "reconciled_at": (reconciled_at or now) if new_status == RECONCILED else None,
            }
        )
        if new_status != status:
            detail: dict[str, Any] = {"erp_number": number, "erp_state": state}
            if reason:
                detail["reason"] = reason
            audit.add(key, new_status, status, new_status, detail)

    def work() -> None:
        _set_status(con, updates, ("mismatch_reason", "erp_number", "erp_state", "reconciled_at"))
        audit.write(con)

    _transaction(con, work)
    return result


def status_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of outbox batches per status."""
    ensure_schema(con)
    return dict(con.execute("SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1").fetchall())
