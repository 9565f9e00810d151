"""The billing run's step boundaries and the hook called at each of them.

Exactly-once delivery is argued step by step (docs/erp.md): the billing run calls
``hook.hit(step)`` at every boundary that matters. Shipped code passes :data:`NO_STEP_HOOK`;
the crash tests pass a hook that SIGKILLs the process at a chosen step.
"""

from __future__ import annotations

from typing import Protocol

#: Every step boundary of the billing run, in run order.
BILLING_STEPS = (
    "after_freeze",
    "before_erp_create",
    "after_erp_create",
    "after_outbox_update",
    "mid_read_back",
    "after_read_back",
    "after_reconcile",
)


class StepHook(Protocol):
    """Called by the billing run at each of :data:`BILLING_STEPS`."""

    def hit(self, step: str) -> None:
        """The run reached ``step``."""


class _NoStepHook:
    """Does nothing but reject a step name that is not in :data:`BILLING_STEPS`."""

    def hit(self, step: str) -> None:
        if step not in BILLING_STEPS:
            raise ValueError(f"unknown billing step {step!r}")


NO_STEP_HOOK: StepHook = _NoStepHook()
