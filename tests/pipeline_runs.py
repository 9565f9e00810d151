"""Whole-graph runs on generated firms, shared by the mart test modules.

One run of the all-assets job per firm and session (``sample_run`` in ``conftest``): the
canonical model, the KPI marts and their comparison with the generator's ground truth all
read the same warehouse, so the default suite builds the sample firm once. Likewise one
``d2b run`` on a tiny written landing (``tiny_run``) serves every test of the console
script's output and of what it leaves in its home.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from ingest.warehouse import connect
from tests.harvest_pages import Entry, write_page
from tests.support.d2b_cli import run_d2b


@dataclass(frozen=True)
class PipelineRun:
    """A warehouse built by the all-assets job from a generated firm."""

    warehouse: Path
    truth_dir: Path
    landing: Path
    as_of: date
    check_results: dict[str, bool]


def run_pipeline(landing: Path, truth_dir: Path, home: Path, as_of: date) -> Iterator[PipelineRun]:
    """Materialize every asset in-process on ``landing`` as of ``as_of`` (a generator)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("D2B_HOME", str(home))
    mp.setenv("D2B_LANDING", str(landing))
    for name in ("D2B_WAREHOUSE", "DAGSTER_HOME"):
        mp.delenv(name, raising=False)
    try:
        from dagster_project.definitions import ALL_ASSETS_JOB, defs
        from dagster_project.defs.dbt_models import as_of_run_config

        result = (
            defs()
            .resolve_job_def(ALL_ASSETS_JOB)
            .execute_in_process(run_config=as_of_run_config(as_of))
        )
        assert result.success
        checks = {
            f"{c.asset_key.to_user_string()}:{c.check_name}": c.passed
            for c in result.get_asset_check_evaluations()
        }
        yield PipelineRun(home / "warehouse.duckdb", truth_dir, landing, as_of, checks)
    finally:
        mp.undo()


#: The small firm written by hand from the vendors' documentation, and its as-of date.
FIRM_BY_HAND = Path(__file__).parent / "fixtures" / "firm_by_hand"
FIRM_BY_HAND_AS_OF = date(2026, 6, 30)


def run_firm_by_hand(home: Path, *layers: Path) -> Iterator[PipelineRun]:
    """The hand-written firm with ``layers`` (fixture folders) landed over it, in that order,
    through every asset as of :data:`FIRM_BY_HAND_AS_OF` (a generator)."""
    landing = home / "landing"
    shutil.copytree(FIRM_BY_HAND, landing)
    for layer in layers:
        shutil.copytree(layer, landing, dirs_exist_ok=True)
    yield from run_pipeline(landing, home / "no_truth", home, FIRM_BY_HAND_AS_OF)


class TinyRun(NamedTuple):
    """A D2B_HOME after ``d2b run`` and the finished process (its exit code and output)."""

    home: Path
    result: subprocess.CompletedProcess


#: The tiny landing's as-of date and its Harvest project whose work is unbilled.
TINY_AS_OF = date(2026, 6, 30)
TINY_UNBILLED_PROJECT = 900


def write_tiny_landing(landing: Path) -> None:
    """A Harvest landing that loads, bills and holds things back, all in one small page.

    Two valid approved entries of 29 May on project 900 (6 and 1.5 hours: the unbilled
    work); two approved entries of 29 May created on 20 May (two ``future_dated`` exceptions
    for the delivery team, so not unbilled work), one with a field Harvest's schema does not
    declare (the ``schema_drift`` warning fires); and a truncated file (rejected whole).
    """
    approved = datetime(2026, 6, 1, 9)
    unbilled = [
        Entry(
            i,
            date(2026, 5, 29),
            hours,
            project_id=TINY_UNBILLED_PROJECT,
            submitted_at=approved,
            approved_at=approved,
        )
        for i, hours in ((1, 6), (2, 1.5))
    ]
    created_before_the_work = {"created_at": "2026-05-20T09:00:00Z"}
    first, second = (
        {
            **Entry(i, date(2026, 5, 29), 2, submitted_at=approved, approved_at=approved).as_json(),
            **created_before_the_work,
        }
        for i in (3, 4)
    )
    write_page(landing, "p1.json", [*unbilled, {**first, "cost_center": "CC-7"}, second])
    (landing / "harvest" / "time_entries" / "broken.json").write_text('{"time_entries": [')


def run_d2b_on_tiny_landing(home: Path) -> TinyRun:
    """``d2b run --as-of`` :data:`TINY_AS_OF` in ``home`` on :func:`write_tiny_landing`."""
    write_tiny_landing(home / "landing")
    return TinyRun(home, run_d2b("run", "--as-of", TINY_AS_OF.isoformat(), home=home))


def read_truth(truth_dir: Path, name: str) -> list[dict[str, str]]:
    """Rows of one ground-truth CSV (docs/generator.md, "Ground truth") as text."""
    with open(truth_dir / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of one query on a built warehouse, opened read-only."""
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def dbt_check_failures(run: PipelineRun) -> list[str]:
    """Failed checks of dbt assets (raw tables carry ingest's own checks: the planted
    extra-column file makes erp__invoice_lines' schema_drift warn, as it should)."""
    return [n for n, passed in run.check_results.items() if not passed and not n.startswith("raw/")]


def dbt_build(warehouse: Path, as_of: date, select: str, *options: str) -> None:
    """``dbt build --select <select> <options>`` on ``warehouse`` as of ``as_of`` (models and
    tests)."""
    import os
    import subprocess

    from dagster_project.dbt import dbt_command

    env = {**os.environ, "D2B_WAREHOUSE": str(warehouse)}
    completed = subprocess.run(
        dbt_command(["build", "--select", select, *options], as_of),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:]
