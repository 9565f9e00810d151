"""A run queued as ``dagster dev``'s sensors queue one (with the origin a queued run needs).

``python -m tests.support.queued_run`` queues one on ``$DAGSTER_HOME``'s instance and exits:
it stands in for a ``dagster dev`` that queued a run and stopped before it started.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

JOB_NAME = "landing_refresh"


def queue_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    """Add a queued run of the project's code location to ``instance``."""
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(module_name="dagster_project.definitions")
    )
    origin = RemoteRepositoryOrigin(location, "__repository__").get_job_origin(JOB_NAME)
    return instance.add_run(
        dg.DagsterRun(
            job_name=JOB_NAME, status=dg.DagsterRunStatus.QUEUED, remote_job_origin=origin
        )
    )


if __name__ == "__main__":
    with dg.DagsterInstance.get() as current:
        queue_run(current)
