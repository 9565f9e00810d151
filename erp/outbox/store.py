"""The outbox's tables, statuses and transitions, and the writes every step shares.

Every write is status-guarded and audited in one DuckDB transaction (docs/design.md §6).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from erp.model import BillingBatch
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

#: The release gate (docs/design.md §6): a batch frozen by a billing run waits here until a
#: person or the legal entity's auto-release rule releases it to ``ready``; a hold keeps it.
AWAITING_RELEASE = "awaiting_release"
STATUSES = (AWAITING_RELEASE, *STATUSES)
TRANSITIONS[None] = TRANSITIONS[None] | {AWAITING_RELEASE}
# awaiting_release -> awaiting_release: a hold placed on or lifted from a waiting batch
TRANSITIONS[AWAITING_RELEASE] = frozenset({READY, AWAITING_RELEASE})

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
    kind VARCHAR NOT NULL,                -- erp.model.LINE_KINDS
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
-- Holds (docs/design.md §6): a held batch is not released, a held record not frozen, until
-- the hold expires or is lifted. Placing and lifting are audited in ops.audit_log.
CREATE TABLE IF NOT EXISTS ops.billing_holds (
    hold_id VARCHAR PRIMARY KEY,
    scope VARCHAR NOT NULL,               -- batch | record
    target VARCHAR NOT NULL,              -- the batch key or the record's correlation id
    approver VARCHAR NOT NULL,            -- who decided the hold
    reason VARCHAR NOT NULL,
    expires_on DATE NOT NULL,             -- the hold ends at the start of this day (UTC)
    placed_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.billing_hold_lifts (  -- insert-only, like the holds
    hold_id VARCHAR PRIMARY KEY,
    lifted_by VARCHAR NOT NULL,
    lifted_at TIMESTAMP NOT NULL
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


def now_utc() -> datetime:
    """The current time as the warehouse stores it.

    Every step reads the clock as ``store.now_utc()``, so a test freezes all of them at once
    by patching this one name.
    """
    # Warehouse convention: naive TIMESTAMP columns hold UTC.
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Audit:
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
        """Queue one audited status change; raises on a transition :data:`TRANSITIONS` forbids."""
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
                "event_at": now_utc(),
            }
        )

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert the queued audit rows (inside the caller's transaction)."""
        if self.rows:
            insert_rows(con, "ops.audit_log", self.rows)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
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


def set_status(
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


def in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], Any]) -> Any:
    """Run ``work`` in one DuckDB transaction: committed whole or rolled back whole."""
    con.begin()
    try:
        result = work()
    except BaseException:
        con.rollback()
        raise
    con.commit()
    return result


def existing_batches(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, tuple[str, str]]:
    """Status and payload hash of those ``keys`` the outbox already holds."""
    if not keys:
        return {}
    rows = con.execute(
        "SELECT batch_key, status, payload_hash FROM ops.erp_outbox WHERE batch_key IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [keys],
    ).fetchall()
    return {key: (status, digest) for key, status, digest in rows}


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


def outbox_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the outbox tables exist (not before the first billing run)."""
    (found,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
        "AND table_name IN ('erp_outbox', 'erp_outbox_lines', 'erp_outbox_correlations')"
    ).fetchall()[0]
    return found == 3


def status_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of outbox batches per status."""
    ensure_schema(con)
    return dict(con.execute("SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1").fetchall())
