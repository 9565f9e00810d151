"""The release gate: holds, and ``awaiting_release`` batches released to ``ready``.

A billing run freezes its batches into ``awaiting_release`` (``freeze(await_release=True)``);
nothing is sent until a batch is released, by a person (``d2b bill --release``) or by its
legal entity's auto-release rule (the firm's ``config/billing_release``). Every release is
audited with who released it and why.

A hold (approver, reason, expiry) keeps a batch from being released, or a record (a time
entry or expense, by correlation id) from being frozen at all, until it expires or is
lifted. Holds live in ``ops.billing_holds`` (lifts in ``ops.billing_hold_lifts``: both
insert-only); placing and lifting them is audited in
``ops.audit_log``: a batch hold as an ``awaiting_release`` to ``awaiting_release`` event of
the batch, a record hold (no batch yet) under the record's correlation id with ``to_status``
``held`` or ``hold_lifted``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import duckdb

from erp.outbox import store
from erp.outbox.store import (
    AWAITING_RELEASE,
    READY,
    Audit,
    ensure_schema,
    in_transaction,
    insert_rows,
    set_status,
)

BATCH = "batch"
RECORD = "record"
HOLD_SCOPES = (BATCH, RECORD)

#: Where the firm's auto-release rules are in force (the config staging model).
RELEASE_RULES_RELATION = "staging.stg_config__billing_release"


@dataclass(frozen=True)
class Hold:
    """One hold in force."""

    hold_id: str
    scope: str
    target: str
    approver: str
    reason: str
    expires_on: date


@dataclass
class ReleaseResult:
    """What :func:`release` did with the batches awaiting release."""

    released: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)
    #: Batch keys asked for by name that are not awaiting release (released already, or unknown).
    not_awaiting: list[str] = field(default_factory=list)


def today() -> date:
    """The UTC date holds expire against (the outbox's one clock)."""
    return store.now_utc().date()


def active_holds(con: duckdb.DuckDBPyConnection, scope: str | None = None) -> list[Hold]:
    """Holds neither lifted nor expired, oldest first (``scope``: batch, record or both).

    Reads only (a read-only connection works): none before the first hold.
    """
    ((found,),) = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'ops' AND table_name = 'billing_hold_lifts'"
    ).fetchall()
    if not found:
        return []
    rows = con.execute(
        "SELECT hold_id, scope, target, approver, reason, expires_on FROM ops.billing_holds "
        "WHERE hold_id NOT IN (SELECT hold_id FROM ops.billing_hold_lifts) "
        "AND expires_on > ? AND (? IS NULL OR scope = ?) "
        "ORDER BY placed_at, hold_id",
        [today(), scope, scope],
    ).fetchall()
    return [Hold(*row) for row in rows]


def held_records(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Correlation ids of the records on hold: not billed while the hold is in force."""
    return {hold.target for hold in active_holds(con, RECORD)}


def place_hold(
    con: duckdb.DuckDBPyConnection,
    scope: str,
    target: str,
    *,
    approver: str,
    reason: str,
    expires_on: date,
    run_id: str,
) -> str:
    """Hold a batch awaiting release, or a record, until ``expires_on``; returns the hold id.

    Raises ``ValueError`` for an unknown scope, an empty reason, an expiry not after today or
    a batch that is not awaiting release (a released batch is already on its way).
    """
    ensure_schema(con)
    if scope not in HOLD_SCOPES:
        raise ValueError(f"hold scope must be one of {', '.join(HOLD_SCOPES)}, not {scope!r}")
    if not reason.strip() or not approver.strip():
        raise ValueError("a hold needs an approver and a reason")
    if expires_on <= today():
        raise ValueError(f"a hold must expire after today ({today()}), not on {expires_on}")
    hold_id = f"hold-{uuid.uuid4().hex[:12]}"
    detail = {"hold_id": hold_id, "scope": scope, "reason": reason, "expires_on": expires_on}

    def work() -> None:
        audit = Audit(run_id, approver)
        if scope == BATCH:
            status = _status_of(con, target)
            if status != AWAITING_RELEASE:
                raise ValueError(
                    f"batch {target} is {status or 'not in the outbox'}: only a batch awaiting "
                    "release can be held"
                )
            audit.add(target, "hold_placed", AWAITING_RELEASE, AWAITING_RELEASE, detail)
        insert_rows(
            con,
            "ops.billing_holds",
            [
                {
                    "hold_id": hold_id,
                    "scope": scope,
                    "target": target,
                    "approver": approver,
                    "reason": reason,
                    "expires_on": expires_on,
                    "placed_at": store.now_utc(),
                }
            ],
        )
        audit.write(con)
        if scope == RECORD:
            audit_record(con, target, "hold_placed", "held", run_id, approver, detail)

    in_transaction(con, work)
    return hold_id


def lift_hold(con: duckdb.DuckDBPyConnection, hold_id: str, *, by: str, run_id: str) -> None:
    """Lift a hold before its expiry (audited); raises ``ValueError`` if it is not in force."""
    ensure_schema(con)
    hold = next((h for h in active_holds(con) if h.hold_id == hold_id), None)
    if hold is None:
        raise ValueError(f"no hold {hold_id} in force")
    detail = {"hold_id": hold_id, "scope": hold.scope, "reason": hold.reason}

    def work() -> None:
        insert_rows(
            con,
            "ops.billing_hold_lifts",
            [{"hold_id": hold_id, "lifted_by": by, "lifted_at": store.now_utc()}],
        )
        if hold.scope == RECORD:
            audit_record(con, hold.target, "hold_lifted", "hold_lifted", run_id, by, detail)
            return
        status = _status_of(con, hold.target)
        audit = Audit(run_id, by)
        audit.add(hold.target, "hold_lifted", status, status, detail)
        audit.write(con)

    in_transaction(con, work)


def release(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    by: str,
    period: str | None = None,
    legal_entities: Iterable[str] | None = None,
    batch_keys: Iterable[str] | None = None,
    rule: str = "manual",
) -> ReleaseResult:
    """Release the batches awaiting release (of ``period``, ``legal_entities``, ``batch_keys``).

    Held batches stay ``awaiting_release`` (``held``: batch key -> the hold's reason); the
    others move to ``ready`` with one audit row each naming ``by`` and the ``rule``
    (``manual`` for a person, ``auto`` for an entity's auto-release rule). Keys of
    ``batch_keys`` not awaiting release are listed in ``not_awaiting``. ``d2b bill --release``
    releases a period this way, the Billing operations page the batches a person picks.
    """
    ensure_schema(con)
    entities = None if legal_entities is None else sorted(set(legal_entities))
    keys = None if batch_keys is None else sorted(set(batch_keys))
    result = ReleaseResult()
    if entities == [] or keys == []:
        return result
    holds = {h.target: h for h in active_holds(con, BATCH)}
    rows = con.execute(
        "SELECT batch_key FROM ops.erp_outbox WHERE status = ? AND (? IS NULL OR period = ?) "
        "AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], legal_entity)) "
        "AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], batch_key)) "
        "ORDER BY batch_key",
        [AWAITING_RELEASE, period, period, entities, entities, keys, keys],
    ).fetchall()
    if keys is not None:
        found = {key for (key,) in rows}
        result.not_awaiting = [key for key in keys if key not in found]
    audit = Audit(run_id, by)
    updates = []
    for (key,) in rows:
        if key in holds:
            hold = holds[key]
            result.held[key] = f"{hold.reason} (held by {hold.approver} until {hold.expires_on})"
            continue
        audit.add(key, "released", AWAITING_RELEASE, READY, {"rule": rule})
        updates.append({"batch_key": key, "from_status": AWAITING_RELEASE, "status": READY})
        result.released.append(key)

    def work() -> None:
        set_status(con, updates, ())
        audit.write(con)

    in_transaction(con, work)
    return result


def auto_release_entities(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Legal entities whose batches the firm releases automatically (``config/billing_release``).

    None before the configuration is built, or when the firm lands no such file: every
    batch then waits for a person.
    """
    ((found,),) = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'staging' AND table_name = 'stg_config__billing_release'"
    ).fetchall()
    if not found:
        return set()
    rows = con.execute(
        f"SELECT legal_entity FROM {RELEASE_RULES_RELATION} WHERE auto_release"
    ).fetchall()
    return {entity for (entity,) in rows}


def awaiting_release(con: duckdb.DuckDBPyConnection, period: str | None = None) -> list[str]:
    """Batch keys awaiting release (of ``period`` if given)."""
    ensure_schema(con)
    rows = con.execute(
        "SELECT batch_key FROM ops.erp_outbox WHERE status = ? AND (? IS NULL OR period = ?) "
        "ORDER BY batch_key",
        [AWAITING_RELEASE, period, period],
    ).fetchall()
    return [key for (key,) in rows]


def _status_of(con: duckdb.DuckDBPyConnection, batch_key: str) -> str | None:
    rows = con.execute(
        "SELECT status FROM ops.erp_outbox WHERE batch_key = ?", [batch_key]
    ).fetchall()
    return rows[0][0] if rows else None


def audit_record(
    con: duckdb.DuckDBPyConnection,
    correlation_id: str,
    event: str,
    to_status: str,
    run_id: str,
    actor: str,
    detail: dict,
) -> None:
    """Audit an event of a record (no batch yet: holds, waivers) under its correlation id."""
    insert_rows(
        con,
        "ops.audit_log",
        [
            {
                "event_id": uuid.uuid4().hex,
                "batch_key": correlation_id,
                "event": event,
                "from_status": None,
                "to_status": to_status,
                "run_id": run_id,
                "actor": actor,
                "detail": json.dumps(detail, sort_keys=True, default=str),
                "event_at": store.now_utc(),
            }
        ],
    )
