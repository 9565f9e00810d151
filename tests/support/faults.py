"""Fault injection for the write-back's crash tests: a real SIGKILL at named billing steps.

:class:`Faults` is an :class:`erp.step_hook.StepHook`. The crash tests start
``python -m tests.support.run_billing --fault-after STEP`` and the process kills itself with
SIGKILL there: no ``finally``, no ``atexit``, no flush, exactly like an OOM kill or a pulled
plug.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass

from erp.step_hook import BILLING_STEPS

#: Every step boundary the billing run can be killed at, in run order.
FAULT_POINTS = BILLING_STEPS


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

    def hit(self, point: str) -> None:
        """Kill this process with SIGKILL if ``point`` is armed."""
        if point not in FAULT_POINTS:
            raise ValueError(f"unknown fault point {point!r}")
        if point in self.points:
            os.kill(os.getpid(), signal.SIGKILL)
