"""Send: ``ready`` and due retries to the ERP exactly once; replay of dead letters."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import duckdb

from erp.adapters.base import (
    BusinessErpError,
    CreateResult,
    ErpAdapter,
    TransientErpError,
)
from erp.model import BillingBatch
from erp.outbox import store
from erp.outbox.resync import create_unless_billed
from erp.outbox.store import (
    DEAD_LETTER,
    FAILED_RETRYABLE,
    READY,
    SENT,
    Audit,
    ensure_schema,
    in_transaction,
    load_batches,
    set_status,
)
from erp.step_hook import NO_STEP_HOOK, StepHook


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between send attempts: ``base * factor**(n-1)``, capped."""

    base_seconds: float = 2.0
    factor: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_seconds, self.base_seconds * self.factor ** max(0, attempt - 1))

    def scaled(self, by: float) -> Backoff:
        """The same backoff with every wait multiplied by ``by`` (``D2B_BILLING_BACKOFF_SCALE``)."""
        return Backoff(self.base_seconds * by, self.factor, self.max_seconds * by)


NO_BACKOFF = Backoff(0.0, 1.0, 0.0)


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
    now = store.now_utc()
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
                # The ERP re-read first: a record it bills under another key is never sent.
                outcomes = create_unless_billed(adapter, [b for b, _ in chunk], _create_isolating)
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
    audit = Audit(run_id, actor)
    next_at = store.now_utc() + timedelta(seconds=delay)
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
        set_status(con, updates, ("attempts", "last_error", "next_attempt_at"))
        audit.write(con)

    in_transaction(con, work)


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
    audit = Audit(run_id, actor)
    sent, dead = [], []
    now = store.now_utc()
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
        set_status(
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
        set_status(con, dead, ("attempts", "last_error", "next_attempt_at"))
        audit.write(con)

    in_transaction(con, work)


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
    audit = Audit(run_id, actor)
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
        set_status(con, updates, ("attempts", "last_error", "next_attempt_at"))
        audit.write(con)

    in_transaction(con, work)
    return [u["batch_key"] for u in updates]
