"""What ``d2b run`` shows while the pipeline runs: one line per phase, detail in a log file.

Dagster's event log and dbt's output (thousands of lines on the sample firm) go to
``$D2B_HOME/logs/run-<UTC time>.log``; the terminal gets a line per phase (ingest, dbt build
with its models and tests, the health marts, publish) and, on the long dbt build, a progress
line every :data:`PROGRESS_EVERY_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

from serving.summary import count_of

#: How often the dbt build reports how far it got.
PROGRESS_EVERY_SECONDS = 30.0
#: The phases whose models and tests are counted start with this label.
DBT_BUILD = "dbt build"
#: The ingest steps are named ``ingest_<system>``; they make one phase.
INGEST_PREFIX = "ingest_"


def run_log_path(home: Path) -> Path:
    """A new log file under ``home/logs`` for one run, named after the UTC time it started."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return home / "logs" / f"run-{stamp}.log"


@contextmanager
def output_to_log(log_path: Path) -> Iterator[TextIO]:
    """Send stdout and stderr to ``log_path``; yield a stream on the terminal.

    Everything Python, Dagster and dbt's processes write goes to the log; the stream is for
    the lines a person reads. File descriptors 1 and 2 are redirected, so child processes
    and forked workers write to the log too; both are restored on the way out, also on
    Ctrl-C.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    # line-buffered, so Python's lines and the raw writes of child processes keep their order
    with open(log_path, "a", buffering=1, encoding="utf-8", errors="replace") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with redirect_stdout(log), redirect_stderr(log):
                yield terminal
        finally:
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


def phase_label(step_key: str | None) -> str | None:
    """The phase a user knows a step of the all-assets job by (None: not a named phase)."""
    from dagster_project.defs.dbt_models import d2b_dbt_models, d2b_pipeline_health_models
    from dagster_project.defs.observability import HISTORY_OP
    from dagster_project.defs.serving import serving_snapshot

    if step_key and step_key.startswith(INGEST_PREFIX):
        return "ingest"
    return {
        d2b_dbt_models.op.name: DBT_BUILD,
        HISTORY_OP: "pipeline history",
        d2b_pipeline_health_models.op.name: f"{DBT_BUILD} of the health marts",
        serving_snapshot.op.name: "publish",
    }.get(step_key or "")


#: dagster-dbt logs a test of a source as an observation, the other tests as checks.
_TEST_EVENTS = (dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.ASSET_OBSERVATION)


class PhaseProgress(logging.Handler):
    """Turns the run's Dagster events into a line per phase on ``terminal``.

    The ingest steps (one per source system) share one line; a dbt build counts the models
    it materialized and the tests it ran, and reports them every ``every_seconds``.
    """

    def __init__(
        self,
        terminal: TextIO,
        every_seconds: float = PROGRESS_EVERY_SECONDS,
        clock=time.monotonic,
    ):
        super().__init__(level=logging.DEBUG)
        self.terminal = terminal
        self.every_seconds = every_seconds
        self.clock = clock
        self._phase: str | None = None
        self._started = 0.0
        self._reported = 0.0
        self._steps: list[str] = []
        self._models = 0
        self._tests = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Note one Dagster event: a step started or failed, a model built, a test run."""
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        step_key = meta.get("step_key") or ""
        kind = event.event_type
        counting = self._phase is not None and self._phase.startswith(DBT_BUILD)
        if kind == dg.DagsterEventType.STEP_START:
            self._start(step_key)
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and counting:
            self._models += 1
            self._maybe_report()
        elif kind in _TEST_EVENTS and counting:
            self._tests += 1
            self._maybe_report()
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self._finish(failed=step_key)
        elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
            self._finish()

    def _start(self, step_key: str) -> None:
        phase = phase_label(step_key) or step_key.replace("_", " ")
        if phase != self._phase:
            self._finish()
            self._phase, self._started = phase, self.clock()
            self._reported = self._started
            self._steps, self._models, self._tests = [], 0, 0
        self._steps.append(step_key)

    def _counts(self) -> str:
        if self._phase == "ingest":
            systems = [step.removeprefix(INGEST_PREFIX) for step in self._steps]
            return f"{count_of(len(systems), 'system')} ({', '.join(systems)})"
        if self._models or self._tests:
            return f"{count_of(self._models, 'model')}, {count_of(self._tests, 'test')}"
        return ""

    def _maybe_report(self) -> None:
        now = self.clock()
        if now - self._reported >= self.every_seconds:
            self._reported = now
            self._write(f"  ... {self._counts()} so far ({now - self._started:.0f} s)")

    def _finish(self, failed: str | None = None) -> None:
        if self._phase is None:
            return
        seconds = self.clock() - self._started
        counts = self._counts()
        done = f"failed in step {failed} after" if failed else "in"
        what = f"{self._phase}: {counts}" if counts else self._phase
        self._write(f"{what} {done} {seconds:.1f} s")
        self._phase = None

    def _write(self, line: str) -> None:
        self.terminal.write(line + "\n")
        self.terminal.flush()


def with_phase_lines(
    job: dg.JobDefinition, run_config: dg.RunConfig, terminal: TextIO
) -> tuple[dg.JobDefinition, dg.RunConfig]:
    """``job`` with a logger that writes phase lines to ``terminal``, and its run config.

    Dagster's console logger stays beside it: its DEBUG lines go wherever stdout goes (the
    run's log file).
    """
    progress = logging.Logger("d2b.run.progress", level=logging.DEBUG)
    progress.addHandler(PhaseProgress(terminal))
    loggers = {
        "console": dg.default_loggers()["console"],
        "phases": dg.LoggerDefinition(lambda _: progress, description="d2b run's phase lines"),
    }
    config = dg.RunConfig(
        ops=run_config.ops,
        loggers={"console": {"config": {"log_level": "DEBUG"}}, "phases": {}},
    )
    return job.with_logger_defs(loggers), config
