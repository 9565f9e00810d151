"""Billing periods end to end behind the release gate: what ``d2b bill`` and ``d2b run`` run.

For each period: the candidates must have been built as of the run's as-of date
(:func:`erp.candidates.check_as_of`); records on hold are left out; the batches are frozen
into ``awaiting_release``; the legal entities the firm releases automatically
(``config/billing_release``) are released, and with ``release`` every other batch of the
period too, in the name of ``by``. Then everything ``ready`` is sent, and the ERP is read back
and reconciled when anything is in flight (docs/design.md §6).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb

from erp import outbox
from erp.adapters.base import ErpAdapter
from erp.candidates import CANDIDATES_RELATION, batches_for_period, check_as_of
from erp.outbox import releasing
from erp.outbox.store import MISMATCH, SENT


@dataclass
class PeriodBilling:
    """What one period's freeze and release did."""

    period: str
    candidate_batches: int
    candidate_lines: int
    held_records: int
    freeze: outbox.FreezeResult
    auto_released: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)


@dataclass
class BillingCycle:
    """One billing run over some periods: per period, then send, read back, reconcile."""

    run_id: str
    periods: list[PeriodBilling]
    send: outbox.SendResult
    read_back: outbox.ReadBackResult | None
    reconcile: outbox.ReconcileResult | None


def bill_periods(
    con: duckdb.DuckDBPyConnection,
    adapter: ErpAdapter,
    periods: Sequence[str],
    *,
    as_of: date,
    run_id: str,
    by: str,
    release: bool = False,
    backoff: outbox.Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BillingCycle:
    """Freeze, release, send, read back and reconcile ``periods`` (see the module doc).

    Raises :class:`erp.candidates.StaleCandidatesError` before freezing anything when a
    period's candidates were built as of another date than ``as_of``.
    """
    outbox.ensure_schema(con)
    for period in periods:
        check_as_of(con, period, as_of)
    billed = [
        freeze_period(con, period, as_of=as_of, run_id=run_id, by=by, release=release)
        for period in periods
    ]
    sent = outbox.send(con, adapter, run_id, backoff=backoff or outbox.Backoff(), sleep=sleep)
    ((in_flight,),) = con.execute(
        "SELECT count(*) FROM ops.erp_outbox WHERE status IN (?, ?)", [SENT, MISMATCH]
    ).fetchall()
    loaded = tied = None
    if in_flight:  # nothing sent and nothing open: the ERP has nothing new to read back
        loaded = outbox.read_back(con, adapter, run_id)
        tied = outbox.reconcile(con, run_id, adapter.name)
    return BillingCycle(run_id, billed, sent, loaded, tied)


#: Who releases batches by the firm's auto-release rule, in the audit log.
AUTO_RELEASE_ACTOR = "config/billing_release"


def freeze_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    *,
    as_of: date,
    run_id: str,
    by: str = AUTO_RELEASE_ACTOR,
    release: bool = False,
) -> PeriodBilling:
    """Freeze ``period`` behind the release gate and release what may go (see the module doc).

    Raises :class:`erp.candidates.StaleCandidatesError`, freezing nothing, when the period's
    candidates were built as of another date than ``as_of``.
    """
    outbox.ensure_schema(con)
    check_as_of(con, period, as_of)
    held_records = releasing.held_records(con)
    batches = batches_for_period(con, period, held=held_records)
    frozen = outbox.freeze(con, batches, run_id, await_release=True)
    auto = releasing.release(
        con,
        run_id,
        by=AUTO_RELEASE_ACTOR,
        period=period,
        legal_entities=releasing.auto_release_entities(con),
        rule="auto",
    )
    manual = (
        releasing.release(con, run_id, by=by, period=period)
        if release
        else releasing.ReleaseResult()
    )
    return PeriodBilling(
        period=period,
        candidate_batches=len(batches),
        candidate_lines=sum(len(b.lines) for b in batches),
        held_records=_held_in_period(con, period, held_records),
        freeze=frozen,
        auto_released=auto.released,
        released=manual.released,
        held={**auto.held, **manual.held},
    )


def _held_in_period(con: duckdb.DuckDBPyConnection, period: str, held: set[str]) -> int:
    """How many of the period's candidate records are on hold."""
    if not held:
        return 0
    ((count,),) = con.execute(
        f"SELECT count(*) FROM {CANDIDATES_RELATION} WHERE period = ? "
        "AND list_contains(?::VARCHAR[], correlation_id)",
        [period, sorted(held)],
    ).fetchall()
    return count
