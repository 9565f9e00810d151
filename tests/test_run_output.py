"""The phase lines ``d2b run`` prints while Dagster runs (dagster_project/run_output.py).

Dagster's events are fed to the handler by hand with a clock of the test's own; the lines of
a whole run on the sample firm: tests/test_cli.py.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import dagster as dg

from dagster_project.run_output import PhaseProgress, output_to_log

E = dg.DagsterEventType


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _event(handler: PhaseProgress, kind, step_key: str | None = None) -> None:
    record = logging.LogRecord("dagster", logging.DEBUG, __file__, 0, "", None, None)
    record.dagster_meta = {"step_key": step_key, "dagster_event": SimpleNamespace(event_type=kind)}
    handler.emit(record)


def test_a_run_shows_one_line_per_phase_and_progress_on_the_dbt_build():
    terminal, clock = io.StringIO(), _Clock()
    handler = PhaseProgress(terminal, every_seconds=30, clock=clock)
    for system, seconds in (("harvest", 4.0), ("toggl", 1.5)):
        _event(handler, E.STEP_START, f"ingest_{system}")
        _event(handler, E.ASSET_MATERIALIZATION, f"ingest_{system}")  # raw tables: no models
        clock.now += seconds
        _event(handler, E.STEP_SUCCESS, f"ingest_{system}")
    _event(handler, E.STEP_START, "d2b_dbt_models")
    for _ in range(3):  # 3 models with 2 tests each, 20 s a model
        clock.now += 20
        _event(handler, E.ASSET_MATERIALIZATION, "d2b_dbt_models")
        _event(handler, E.ASSET_CHECK_EVALUATION, "d2b_dbt_models")
        _event(handler, E.ASSET_OBSERVATION, "d2b_dbt_models")
    _event(handler, E.STEP_SUCCESS, "d2b_dbt_models")
    _event(handler, E.STEP_START, "dagster_history")
    _event(handler, E.ASSET_MATERIALIZATION, "dagster_history")  # ops tables: no models
    clock.now += 1
    _event(handler, E.STEP_SUCCESS, "dagster_history")
    _event(handler, E.STEP_START, "serving__snapshot")
    _event(handler, E.ASSET_MATERIALIZATION, "serving__snapshot")
    clock.now += 2
    _event(handler, E.STEP_SUCCESS, "serving__snapshot")
    _event(handler, E.RUN_SUCCESS)

    assert terminal.getvalue().splitlines() == [
        "ingest: 2 systems (harvest, toggl) in 5.5 s",
        "  ... 2 models, 2 tests so far (40 s)",
        "dbt build: 3 models, 6 tests in 60.0 s",
        "pipeline history in 1.0 s",
        "publish in 2.0 s",
    ]


def test_a_failed_step_ends_its_phase_line_and_names_it():
    terminal, clock = io.StringIO(), _Clock()
    handler = PhaseProgress(terminal, clock=clock)
    _event(handler, E.STEP_START, "ingest_harvest")
    clock.now += 1
    _event(handler, E.STEP_SUCCESS, "ingest_harvest")
    _event(handler, E.STEP_START, "d2b_dbt_models")
    _event(handler, E.ASSET_MATERIALIZATION, "d2b_dbt_models")
    clock.now += 9
    _event(handler, E.STEP_FAILURE, "d2b_dbt_models")
    _event(handler, E.RUN_FAILURE)

    assert terminal.getvalue().splitlines() == [
        "ingest: 1 system (harvest) in 1.0 s",
        "dbt build: 1 model, 0 tests failed in step d2b_dbt_models after 9.0 s",
    ]


def test_output_of_child_processes_goes_to_the_log_and_the_terminal_stays(tmp_path, capfd):
    log = tmp_path / "logs" / "run.log"
    with output_to_log(log) as terminal:
        print("python's stdout")
        print("python's stderr", file=sys.stderr)
        subprocess.run([sys.executable, "-c", "print('a child process')"], check=True)
        os.write(2, b"a raw write to fd 2\n")
        print("for the person", file=terminal)
    print("after")

    assert log.read_text().splitlines() == [
        "python's stdout",
        "python's stderr",
        "a child process",
        "a raw write to fd 2",
    ]
    captured = capfd.readouterr()
    assert captured.out.splitlines() == ["for the person", "after"]
    assert captured.err == ""
