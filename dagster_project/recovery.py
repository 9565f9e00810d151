"""Runs recover by themselves: a dead run's writer slot is freed before the next run waits.

Dagster frees a step's pool slot when the step ends. A run whose process dies (SIGKILL, an OOM
kill, a pulled plug) never ends its step, so its slot of the single-writer pool stays claimed and
every later run waits for it forever. Dagster's run monitoring frees slots only of runs already
marked finished, and only under the daemon; ``d2b run`` executes in-process without one. So
``d2b run`` and ``d2b dev`` start with :func:`recover_dead_runs`: a run of the instance that is
unfinished (or still holds a slot) and whose worker process is gone is marked failed and its
slots are freed. ``d2b run`` then waits in :func:`wait_for_warehouse` while a live run holds the
pool, saying which run and since when, and removes what an interrupted publish left behind:
Dagster's own wait for a slot logs at DEBUG only and ignores SIGTERM and Ctrl-C.

A run's worker is the process named by its first engine event with a ``pid`` (the in-process
executor's "Executing steps in process", a launched run's "Started process for run"). PIDs are
checked on this machine: the instance lives under ``D2B_HOME``, a local directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from d2b.files import process_alive
from dagster_project.resources import WAREHOUSE_POOL
from serving.snapshot import remove_partials

#: Statuses of a run that has (or is getting) a worker process.
_ACTIVE = (
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)
#: Engine events read to find a run's worker; its pid comes within the first few.
_WORKER_EVENTS_READ = 50


@dataclass(frozen=True)
class Worker:
    """The process that executes a run, as its engine event recorded it."""

    pid: int
    seen_at: float  # epoch seconds of the event naming it

    def alive(self) -> bool:
        """Whether that process still runs (a reused PID is another, later process)."""
        return process_alive(self.pid, self.seen_at)


@dataclass(frozen=True)
class RecoveredRun:
    """A run whose worker was gone: marked failed (if unfinished) and its slots freed."""

    run_id: str
    job_name: str
    status: str
    pid: int | None
    marked_failed: bool

    def describe(self) -> str:
        """One line for the console."""
        process = f"its process {self.pid} is gone" if self.pid else "it has no process"
        done = "marked failed, its writer slot freed" if self.marked_failed else "slot freed"
        run = f"recovered run {self.run_id} ({self.job_name}, was {self.status})"
        return f"{run}: {process}; {done}"


@dataclass(frozen=True)
class SlotHolder:
    """A step holding a slot of the writer pool."""

    run_id: str
    job_name: str
    step_key: str
    since: datetime | None
    worker: Worker | None

    def describe(self) -> str:
        """One line for the console: what waits for what, and how to stop waiting."""
        since = f" since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        process = f", process {self.worker.pid} alive" if self.worker else ""
        return (
            f"waiting for the warehouse: pool {WAREHOUSE_POOL} is held by run {self.run_id} "
            f"({self.job_name}, step {self.step_key}){since}{process}; Ctrl-C stops waiting"
        )


def run_worker(instance: dg.DagsterInstance, run_id: str) -> Worker | None:
    """The worker process a run's engine events name, or None before it started one."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=_WORKER_EVENTS_READ
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data else None
        if pid is not None:
            return Worker(int(pid.value), record.event_log_entry.timestamp)
    return None


def recover_dead_runs(instance: dg.DagsterInstance) -> list[RecoveredRun]:
    """Mark every run whose worker is gone failed and free its slots; return them.

    Looked at: runs in an active status and runs holding or waiting for a slot. An active run
    with no worker yet is left alone (a launched run's worker may be starting; the daemon's
    run monitoring times it out). A finished run still holding slots is freed once its worker
    is gone.
    """
    storage = instance.event_log_storage
    holding = (
        storage.get_concurrency_run_ids() if storage.supports_global_concurrency_limits else set()
    )
    active = {run.run_id for run in instance.get_runs(dg.RunsFilter(statuses=list(_ACTIVE)))}
    recovered = []
    for run_id in sorted(holding | active):
        run = instance.get_run_by_id(run_id)
        worker = run_worker(instance, run_id)
        if run is not None and worker is None and run.status in _ACTIVE:
            continue  # its worker has not started yet
        if worker is not None and worker.alive():
            continue
        marked_failed = run is not None and run.status in _ACTIVE
        if marked_failed:
            instance.report_run_failed(
                run,
                message=(
                    f"The run's process ({worker.pid if worker else 'none'}) is gone: marked "
                    "failed by d2b before the next run, and its writer slot freed."
                ),
            )
        if run_id in holding:
            storage.free_concurrency_slots_for_run(run_id)
        recovered.append(
            RecoveredRun(
                run_id,
                run.job_name if run else "deleted run",
                run.status.value if run else "deleted",
                worker.pid if worker else None,
                marked_failed,
            )
        )
    return recovered


def slot_holders(instance: dg.DagsterInstance, pool: str = WAREHOUSE_POOL) -> list[SlotHolder]:
    """The steps holding a slot of ``pool``, with their run, since when and their worker."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(pool)
    assigned = {
        (step.run_id, step.step_key): step.assigned_timestamp for step in info.pending_steps
    }
    holders = []
    for slot in info.claimed_slots:
        run = instance.get_run_by_id(slot.run_id)
        since = assigned.get((slot.run_id, slot.step_key))
        holders.append(
            SlotHolder(
                run_id=slot.run_id,
                job_name=run.job_name if run else "deleted run",
                step_key=slot.step_key,
                since=since.astimezone(UTC) if since else None,
                worker=run_worker(instance, slot.run_id),
            )
        )
    return holders


def wait_for_warehouse(
    instance: dg.DagsterInstance,
    serving_dir: Path,
    say: Callable[[str], None] = print,
    *,
    poll_seconds: float = 2.0,
    repeat_seconds: float = 60.0,
) -> None:
    """Return once no run holds the writer pool, recovering dead runs while waiting.

    Says what holds the pool when that changes and every ``repeat_seconds``; sleeps between
    polls, so Ctrl-C (KeyboardInterrupt) and SIGTERM stop it at once. With the pool free, no
    publish is under way: its leftover partial files are removed.
    """
    told: tuple[list[SlotHolder], float] | None = None
    while True:
        for run in recover_dead_runs(instance):
            say(run.describe())
        holders = slot_holders(instance)
        if not holders:
            for path in remove_partials(serving_dir):
                say(f"removed {path}, left by an interrupted publish")
            return
        now = time.monotonic()
        if told is None or told[0] != holders or now - told[1] >= repeat_seconds:
            for holder in holders:
                say(holder.describe())
            told = (holders, now)
        time.sleep(poll_seconds)


def cancel_queued_runs(instance: dg.DagsterInstance, created_after: datetime) -> list[str]:
    """Cancel the runs still queued that were created after ``created_after``; their ids.

    ``d2b dev`` calls it when it stops: the sensors and schedules it ran may have queued runs
    that no daemon would start until the next ``d2b dev``, which would then run them against
    a landing zone and warehouse that may have moved on (a later ``d2b run`` loads the same
    files). Runs queued before it started are not its own and are left alone.
    """
    queued = instance.get_runs(
        dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED],
            created_after=created_after,
        )
    )
    for run in queued:
        instance.report_run_canceled(run, message="d2b dev stopped before the run started")
    return [run.run_id for run in queued]
