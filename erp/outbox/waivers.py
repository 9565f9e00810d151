"""Exception waivers: a person accepts one exception of one record so the record can be billed.

An excepted record (marts.billing_exceptions) is never billed until its exception is
resolved at the source. Some exceptions are judgements rather than wrong data: a waiver
(approver, reason, expiry) accepts one of them, :data:`WAIVABLE_EXCEPTIONS`, for one record
(a time entry or expense, by correlation id). A record whose every exception is waived and
in force is billed like any other candidate. Exceptions that leave the record unbillable or
its invoice wrong (no rate, no tax rule, a duplicate, an implausible date...) cannot be
waived: they are corrected at the source.

Waivers live in ``ops.billing_waivers`` (lifts in ``ops.billing_waiver_lifts``: both
insert-only) in the billing store, mirrored into the warehouse like the holds. Placing and
lifting are audited in ``ops.audit_log`` under the record's correlation id (``to_status``
``waived`` or ``waiver_lifted``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import duckdb

from erp.outbox import store
from erp.outbox.releasing import audit_record, today
from erp.outbox.store import in_transaction, insert_rows

#: Exceptions a waiver may lift (codes of the seed exception_reasons): the record's data is
#: right and billable, a person judges the circumstance acceptable. All others are not.
WAIVABLE_EXCEPTIONS = frozenset(
    {
        "closed_project",  # time after the project's end date, agreed with the client
        "task_not_on_project",
        "resource_not_assigned",
        "rate_mismatch",  # the resolved bill rate is billed, the PSA's rate differs
        "future_dated",
        "over_daily_limit",
        "expired_contract",  # work past the contract's end, agreed pending its extension
        "missing_receipt",
        "over_policy_limit",
    }
)

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
-- Exception waivers (erp.outbox.waivers): a record whose every exception is waived and in
-- force is billed. Insert-only; placing and lifting are audited in ops.audit_log.
CREATE TABLE IF NOT EXISTS ops.billing_waivers (
    waiver_id VARCHAR PRIMARY KEY,
    correlation_id VARCHAR NOT NULL,      -- the excepted record
    exception_code VARCHAR NOT NULL,      -- the exception waived (WAIVABLE_EXCEPTIONS)
    approver VARCHAR NOT NULL,            -- who accepted it
    reason VARCHAR NOT NULL,
    expires_on DATE NOT NULL,             -- the waiver ends at the start of this day (UTC)
    placed_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.billing_waiver_lifts (  -- insert-only, like the waivers
    waiver_id VARCHAR PRIMARY KEY,
    lifted_by VARCHAR NOT NULL,
    lifted_at TIMESTAMP NOT NULL
);
"""


@dataclass(frozen=True)
class Waiver:
    """One waiver in force."""

    waiver_id: str
    correlation_id: str
    exception_code: str
    approver: str
    reason: str
    expires_on: date


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the waiver tables if absent."""
    con.execute(DDL)


def active_waivers(con: duckdb.DuckDBPyConnection) -> list[Waiver]:
    """Waivers neither lifted nor expired, oldest first; none before the first waiver.

    Reads only (a read-only connection works).
    """
    ((found,),) = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'ops' AND table_name = 'billing_waiver_lifts'"
    ).fetchall()
    if not found:
        return []
    rows = con.execute(
        "SELECT waiver_id, correlation_id, exception_code, approver, reason, expires_on "
        "FROM ops.billing_waivers "
        "WHERE waiver_id NOT IN (SELECT waiver_id FROM ops.billing_waiver_lifts) "
        "AND expires_on > ? ORDER BY placed_at, waiver_id",
        [today()],
    ).fetchall()
    return [Waiver(*row) for row in rows]


def waived_exceptions(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Correlation id -> the exception codes waived for that record, in force today."""
    waived: dict[str, set[str]] = defaultdict(set)
    for waiver in active_waivers(con):
        waived[waiver.correlation_id].add(waiver.exception_code)
    return dict(waived)


def place_waiver(
    con: duckdb.DuckDBPyConnection,
    correlation_id: str,
    exception_code: str,
    *,
    approver: str,
    reason: str,
    expires_on: date,
    run_id: str,
) -> str:
    """Waive ``exception_code`` of the record ``correlation_id`` until ``expires_on``.

    Returns the waiver id. Raises ``ValueError`` for an exception no waiver may lift, an
    empty reason or approver, or an expiry not after today.
    """
    ensure_schema(con)
    store.ensure_schema(con)
    if exception_code not in WAIVABLE_EXCEPTIONS:
        raise ValueError(
            f"{exception_code!r} cannot be waived (correct it at the source); waivable: "
            f"{', '.join(sorted(WAIVABLE_EXCEPTIONS))}"
        )
    if not reason.strip() or not approver.strip():
        raise ValueError("a waiver needs an approver and a reason")
    if expires_on <= today():
        raise ValueError(f"a waiver must expire after today ({today()}), not on {expires_on}")
    waiver_id = f"waiver-{uuid.uuid4().hex[:12]}"
    detail = {
        "waiver_id": waiver_id,
        "exception": exception_code,
        "reason": reason,
        "expires_on": expires_on,
    }

    def work() -> None:
        insert_rows(
            con,
            "ops.billing_waivers",
            [
                {
                    "waiver_id": waiver_id,
                    "correlation_id": correlation_id,
                    "exception_code": exception_code,
                    "approver": approver,
                    "reason": reason,
                    "expires_on": expires_on,
                    "placed_at": store.now_utc(),
                }
            ],
        )
        audit_record(con, correlation_id, "waiver_placed", "waived", run_id, approver, detail)

    in_transaction(con, work)
    return waiver_id


def lift_waiver(con: duckdb.DuckDBPyConnection, waiver_id: str, *, by: str, run_id: str) -> None:
    """Lift a waiver before its expiry (audited); raises ``ValueError`` if it is not in force."""
    ensure_schema(con)
    store.ensure_schema(con)
    waiver = next((w for w in active_waivers(con) if w.waiver_id == waiver_id), None)
    if waiver is None:
        raise ValueError(f"no waiver {waiver_id} in force")
    detail = {"waiver_id": waiver_id, "exception": waiver.exception_code}

    def work() -> None:
        insert_rows(
            con,
            "ops.billing_waiver_lifts",
            [{"waiver_id": waiver_id, "lifted_by": by, "lifted_at": store.now_utc()}],
        )
        audit_record(
            con, waiver.correlation_id, "waiver_lifted", "waiver_lifted", run_id, by, detail
        )

    in_transaction(con, work)
