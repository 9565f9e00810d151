"""The d2b console script, end to end, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from tests.harvest_pages import Entry, write_page

D2B = str(Path(sys.executable).parent / "d2b")


def run_d2b(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("D2B_", "DAGSTER_"))}
    env["D2B_HOME"] = str(home)
    return subprocess.run(
        [D2B, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_help_lists_commands_and_settings(tmp_path):
    result = run_d2b("--help", home=tmp_path)
    assert result.returncode == 0
    for word in ("run", "generate", "dev", "D2B_HOME", "D2B_LANDING", "D2B_WAREHOUSE"):
        assert word in result.stdout


def test_run_refuses_an_empty_landing_zone_when_asked_not_to_generate(tmp_path):
    result = run_d2b("run", "--no-sample", home=tmp_path)
    assert result.returncode == 1
    assert "landing zone" in result.stderr and "is empty" in result.stderr


def test_run_rejects_a_bad_date(tmp_path):
    result = run_d2b("run", "--as-of", "2026-13-01", home=tmp_path)
    assert result.returncode == 2
    assert "not a date" in result.stderr


def test_run_loads_the_landing_zone_and_prints_the_marts_figures(tmp_path):
    home = tmp_path / "home"
    approved_at = datetime(2026, 6, 1, 9)
    write_page(
        home / "landing",
        "p1.json",
        [
            Entry(
                id=1,
                spent_date=date(2026, 5, 29),
                hours=6,
                project_id=900,
                submitted_at=approved_at,
                approved_at=approved_at,
            ),
            Entry(
                id=2,
                spent_date=date(2026, 5, 29),
                hours=1.5,
                project_id=900,
                submitted_at=approved_at,
                approved_at=approved_at,
            ),
        ],
    )

    result = run_d2b("run", "--as-of", "2026-06-30", home=home)

    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "succeeded" in out
    assert "Unbilled approved hours as of 2026-06-30: 7.50 hours in 2 entries on 1 projects" in out
    assert "harvest:900" in out
    assert (home / "warehouse.duckdb").exists()
    assert (home / "dagster" / "dagster.yaml").exists()
