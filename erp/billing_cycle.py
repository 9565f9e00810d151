"""Billing periods end to end behind the release gate: what ``d2b bill`` and ``d2b run`` run.

For each period: the candidates must have been built as of the run's as-of date
(:func:`erp.candidates.check_as_of`); records on hold are left out; the batches are frozen
into ``awaiting_release``; the legal entities the firm releases automatically
(``config/billing_release``) are released, and with ``release`` every other batch of the
period too, in the name of ``by``. Then everything ``ready`` is sent, and the ERP is read back
and reconciled when anything is in flight (docs/design.md §6).

Two connections: ``store`` is the durable billing store (:mod:`erp.billing_store`: outbox,
audit log, holds, read-back, re-sync), where every write goes; ``warehouse`` is read for the
period's candidates and the firm's auto-release rules. Before any freeze the records the ERP
already bills are re-synced and left out record by record (:mod:`erp.outbox.resync`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from erp import outbox
from erp.adapters.base import ErpAdapter
from erp.candidates import batches_from_rows, check_as_of, records_for_period
from erp.outbox import releasing
from erp.outbox.store import MISMATCH, SENT


@dataclass(frozen=True)
class Candidates:
    """What the warehouse offers a billing run.

    Each period's candidate records (dicts of :data:`erp.candidates.CANDIDATE_COLUMNS`) and
    the legal entities the firm releases automatically.
    """

    records: dict[str, list[dict[str, Any]]]
    auto_release_entities: set[str]


def read_candidates(
    warehouse: duckdb.DuckDBPyConnection, periods: Sequence[str], as_of: date
) -> Candidates:
    """Read ``periods``' candidates and the auto-release rules from the warehouse.

    Raises :class:`erp.candidates.StaleCandidatesError`, reading nothing more, when a period's
    candidates were built as of another date than ``as_of``.
    """
    for period in periods:
        check_as_of(warehouse, period, as_of)
    return Candidates(
        {period: records_for_period(warehouse, period) for period in periods},
        releasing.auto_release_entities(warehouse),
    )


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
    #: Candidate records left out because the ERP or the outbox already bills them.
    excluded_records: int = 0


@dataclass
class BillingCycle:
    """One billing run over some periods: per period, then send, read back, reconcile."""

    run_id: str
    resync: outbox.ResyncResult
    periods: list[PeriodBilling]
    send: outbox.SendResult
    read_back: outbox.ReadBackResult | None
    reconcile: outbox.ReconcileResult | None


def bill_periods(
    store: duckdb.DuckDBPyConnection,
    candidates: Candidates,
    adapter: ErpAdapter,
    *,
    run_id: str,
    by: str,
    release: bool = False,
    backoff: outbox.Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BillingCycle:
    """Bill the periods of ``candidates`` in the billing ``store`` (see the module doc).

    Re-sync, freeze, release, send, read back and reconcile.
    """
    outbox.ensure_schema(store)
    synced = outbox.resync_or_keep(store, adapter, run_id)
    billed = [
        freeze_period(store, candidates, period, run_id=run_id, by=by, release=release)
        for period in candidates.records
    ]
    sent = outbox.send(store, adapter, run_id, backoff=backoff or outbox.Backoff(), sleep=sleep)
    ((in_flight,),) = store.execute(
        "SELECT count(*) FROM ops.erp_outbox WHERE status IN (?, ?)", [SENT, MISMATCH]
    ).fetchall()
    loaded = tied = None
    if in_flight:  # nothing sent and nothing open: the ERP has nothing new to read back
        loaded = outbox.read_back(store, adapter, run_id)
        tied = outbox.reconcile(store, run_id, adapter.name)
    return BillingCycle(run_id, synced, billed, sent, loaded, tied)


#: Who releases batches by the firm's auto-release rule, in the audit log.
AUTO_RELEASE_ACTOR = "config/billing_release"


def freeze_period(
    store: duckdb.DuckDBPyConnection,
    candidates: Candidates,
    period: str,
    *,
    run_id: str,
    by: str = AUTO_RELEASE_ACTOR,
    release: bool = False,
) -> PeriodBilling:
    """Freeze ``period`` behind the release gate and release what may go (see the module doc).

    Records on hold are left out, and so are the records the ERP or the outbox already bills
    (re-synced first by the caller, :func:`outbox.resync_or_keep`), record by record: a
    rebuilt warehouse's mart may offer them again.
    """
    outbox.ensure_schema(store)
    held_records = releasing.held_records(store)
    offered = candidates.records[period]
    not_held = [row for row in offered if row["correlation_id"] not in held_records]
    records, excluded = outbox.split_billed(store, not_held)
    batches = batches_from_rows(records)
    frozen = outbox.freeze(store, batches, run_id, await_release=True)
    auto = releasing.release(
        store,
        run_id,
        by=AUTO_RELEASE_ACTOR,
        period=period,
        legal_entities=candidates.auto_release_entities,
        rule="auto",
    )
    manual = (
        releasing.release(store, run_id, by=by, period=period)
        if release
        else releasing.ReleaseResult()
    )
    return PeriodBilling(
        period=period,
        candidate_batches=len(batches),
        candidate_lines=sum(len(b.lines) for b in batches),
        held_records=len(offered) - len(not_held),
        freeze=frozen,
        auto_released=auto.released,
        released=manual.released,
        held={**auto.held, **manual.held},
        excluded_records=len(excluded),
    )
