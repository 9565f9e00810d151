"""A Dagster run that holds the warehouse writer slot for a while, in a process of its own.

``python -m tests.support.pool_holder SECONDS`` runs a one-op job in the pool
``d2b_warehouse`` on the instance of ``DAGSTER_HOME``; the op sleeps ``SECONDS``. The recovery
tests SIGKILL it while it holds the slot, or let it finish.
"""

from __future__ import annotations

import sys
import time

import dagster as dg

from dagster_project.resources import WAREHOUSE_POOL


@dg.op(pool=WAREHOUSE_POOL, config_schema={"seconds": float})
def hold(context) -> None:  # Dagster reads the annotation: none under `annotations`
    """Sleep as long as the job's config says, holding the writer slot."""
    time.sleep(context.op_config["seconds"])


@dg.job
def holder() -> None:
    """One step in the writer pool."""
    hold()


def main(seconds: float) -> int:
    """Run :func:`holder` on the instance of ``DAGSTER_HOME``; 0 when it succeeded."""
    with dg.DagsterInstance.get() as instance:
        result = holder.execute_in_process(
            instance=instance,
            run_config={"ops": {"hold": {"config": {"seconds": seconds}}}},
            raise_on_error=False,
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1])))
