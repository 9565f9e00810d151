"""The exactly-once write-back state machine over the warehouse (docs/design.md §6).

::

    freeze ──► ready ──send──► sent ──read back + reconcile──► reconciled
                 │  ▲             │                               ▲  │
      transient  ▼  │ retry       └──────────► mismatch ◄─────────┘──┘
          failed_retryable              (re-checked every reconcile)
                 │
      business   ▼          replay_dead_letters (after correction)
            dead_letter ─────────────────────────────────► ready

A billing run (:mod:`erp.billing_cycle`) freezes into ``awaiting_release``: nothing is sent
until a person or the legal entity's auto-release rule releases the batch
(:mod:`~erp.outbox.releasing`); a hold keeps it waiting.

Exactly once rests on two facts. The ERP is always asked "do you hold this batch key?"
before anything is created (the adapter's ``create_if_absent``), so a run that died after
the ERP committed and before the outbox recorded it adopts the existing invoice instead of
creating a second one. And a correlation id can be frozen into one batch only
(``ops.erp_outbox_correlations`` is keyed by it), so no time entry or expense is ever on two
batches. One writer at a time: DuckDB's file lock and the Dagster pool of 1 (docs/design.md §7)
serialise billing runs, so no two runs look up and create the same key concurrently.

Every status change writes one row to ``ops.audit_log`` in the same DuckDB transaction;
this package only ever inserts into that table.

One module per step: :mod:`~erp.outbox.freezing`, :mod:`~erp.outbox.sending` (with the
replay of dead letters), :mod:`~erp.outbox.reading_back`, :mod:`~erp.outbox.reconciling`,
:mod:`~erp.outbox.dry_run` (``plan``), :mod:`~erp.outbox.releasing` (the release gate and
holds), :mod:`~erp.outbox.resync` (what the ERP already bills, read back before any freeze),
over :mod:`~erp.outbox.store` (tables, statuses, transitions, audited writes). Callers
import the steps from here.
"""

from erp.outbox.dry_run import PlanItem, plan
from erp.outbox.feedback import FeedbackResult, read_feedback
from erp.outbox.freezing import FreezeResult, freeze
from erp.outbox.reading_back import ReadBackResult, read_back, read_back_load
from erp.outbox.reconciling import ReconcileResult, reconcile
from erp.outbox.releasing import (
    Hold,
    ReleaseResult,
    active_holds,
    held_records,
    lift_hold,
    place_hold,
    release,
)
from erp.outbox.resync import ResyncResult, resync, resync_or_keep, split_billed
from erp.outbox.sending import NO_BACKOFF, Backoff, SendResult, replay_dead_letters, send
from erp.outbox.store import (
    AWAITING_RELEASE,
    DDL,
    DEAD_LETTER,
    FAILED_RETRYABLE,
    MISMATCH,
    READY,
    RECONCILED,
    SENT,
    STATUSES,
    TRANSITIONS,
    ensure_schema,
    load_batches,
    status_counts,
)

__all__ = [
    "AWAITING_RELEASE",
    "DDL",
    "DEAD_LETTER",
    "FAILED_RETRYABLE",
    "MISMATCH",
    "NO_BACKOFF",
    "READY",
    "RECONCILED",
    "SENT",
    "STATUSES",
    "TRANSITIONS",
    "Backoff",
    "FeedbackResult",
    "FreezeResult",
    "Hold",
    "PlanItem",
    "ReadBackResult",
    "ReconcileResult",
    "ReleaseResult",
    "ResyncResult",
    "SendResult",
    "active_holds",
    "ensure_schema",
    "freeze",
    "held_records",
    "lift_hold",
    "load_batches",
    "place_hold",
    "plan",
    "read_back",
    "read_back_load",
    "read_feedback",
    "reconcile",
    "release",
    "replay_dead_letters",
    "resync",
    "resync_or_keep",
    "send",
    "split_billed",
    "status_counts",
]
