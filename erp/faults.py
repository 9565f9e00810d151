"""Fault injection for the write-back's crash tests: a real SIGKILL at named steps.

The billing run calls :meth:`Faults.hit` at every step boundary that matters for exactly-once
delivery. Production code passes :data:`NO_FAULTS`; the fault tests start
``python -m erp.run_billing --fault-after STEP`` (or set ``D2B_FAULT_INJECT=STEP``) and the
process kills itself with SIGKILL there: no ``finally``, no ``atexit``, no flush, exactly
like an OOM kill or a pulled plug.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Every step boundary the billing run can be killed at, in run order.
FAULT_POINTS = (
    "after_freeze",
    "before_erp_create",
    "after_erp_create",
    "after_outbox_update",
    "mid_read_back",
    "after_read_back",
    "after_reconcile",
)


@dataclass(frozen=True)
class Faults:
    """The fault points armed in this process (empty: none)."""

    points: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.points) - set(FAULT_POINTS)
        if unknown:
            raise ValueError(f"unknown fault point(s) {sorted(unknown)}; known: {FAULT_POINTS}")

    @classmethod
    def of(cls, points: Iterable[str] | None) -> Faults:
        """Faults armed at ``points`` (None or empty: none)."""
        return cls(frozenset(p for p in points or () if p))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Faults:
        """Faults armed by ``D2B_FAULT_INJECT`` (comma-separated step names)."""
        env = os.environ if environ is None else environ
        return cls.of(p.strip() for p in env.get("D2B_FAULT_INJECT", "").split(","))

    def hit(self, point: str) -> None:
        """Kill this process with SIGKILL if ``point`` is armed."""
        if point not in FAULT_POINTS:
            raise ValueError(f"unknown fault point {point!r}")
        if point in self.points:
            os.kill(os.getpid(), signal.SIGKILL)


NO_FAULTS = Faults()
