"""The d2b console script, end to end, as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.harvest_pages import Entry, write_page
from tests.support.d2b_cli import run_d2b


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


def test_run_loads_the_landing_zone_and_prints_the_marts_figures(tiny_run):
    """Two valid approved entries of 6 and 1.5 hours on project 900 are the unbilled work
    (the landing's other two entries are held: tests.pipeline_runs.write_tiny_landing)."""
    home, result = tiny_run

    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "succeeded" in out
    assert "Unbilled approved hours as of 2026-06-30: 7.50 hours in 2 entries on 1 projects" in out
    assert "harvest:900" in out
    assert (home / "warehouse.duckdb").exists()
    assert (home / "dagster" / "dagster.yaml").exists()


def _approved_entries(*hours: float) -> list[Entry]:
    approved_at = datetime(2026, 6, 1, 9)
    return [
        Entry(
            id=number,
            spent_date=date(2026, 5, 29),
            hours=entry_hours,
            project_id=900,
            submitted_at=approved_at,
            approved_at=approved_at,
        )
        for number, entry_hours in enumerate(hours, start=1)
    ]


#: Runs ``d2b`` with the dbt project at argv[1] (a patched copy), the rest as its arguments.
_WITH_DBT_PROJECT = """
import sys
from pathlib import Path

from dagster_dbt import DbtProject

import dagster_project.dbt as dbt

dbt.DBT_PROJECT_DIR = Path(sys.argv[1])
dbt.dbt_project = DbtProject(project_dir=dbt.DBT_PROJECT_DIR, profiles_dir=dbt.DBT_PROJECT_DIR)

from dagster_project.cli import main

sys.exit(main(sys.argv[2:]))
"""


def test_a_failing_dbt_test_ends_the_run_with_a_short_summary(tmp_path):
    """A dbt test that fails stops the run; its last lines name the test, the model, the
    failing records and where to look next (the test lives in a copy of the dbt project)."""
    from dagster_project.dbt import DBT_PROJECT_DIR

    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    # the seeds beside the project (seed-paths: ../ingest/config)
    (tmp_path / "ingest").symlink_to(DBT_PROJECT_DIR.parent / "ingest")
    (project / "tests" / "assert_no_entry_over_five_hours.sql").write_text(
        "select source_system, source_id, hours from {{ ref('fct_time_entries') }} "
        "where hours > 5\n"
    )
    home = tmp_path / "home"
    write_page(home / "landing", "p1.json", _approved_entries(6, 1.5, 7))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("D2B_", "DAGSTER_"))}
    env["D2B_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-c", _WITH_DBT_PROJECT, str(project), "run", "--as-of", "2026-06-30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 1, result.stderr[-3000:]
    tail = result.stderr.splitlines()[-20:]
    summary = "\n".join(tail)
    assert "Why the run failed:" in summary, summary
    assert "step dbt build (d2b_dbt_models) failed" in summary
    assert (
        "dbt test assert_no_entry_over_five_hours on fct_time_entries: 2 failing records" in summary
    )
    shown = sorted(line.strip() for line in tail if line.strip().startswith("source_system="))
    assert shown == [
        "source_system=harvest, source_id=1, hours=6.0000",
        "source_system=harvest, source_id=3, hours=7.0000",
    ]
    assert "dbt.log" in summary and "d2b dev" in summary and "Data health" in summary
    assert tail[-1].startswith("d2b: error: run ") and "failed after" in tail[-1]


def test_a_run_that_held_records_says_what_and_why(tiny_run):
    """A rejected file, an undeclared field and future-dated entries: the run
    succeeds (exit 0) and its last lines name the warning check, the file and its reason,
    and the exceptions by owner team."""
    _, result = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    held = lines[lines.index("What was held and why:") :]
    assert len(held) <= 10, held
    assert any(
        line.startswith("  warning check raw/harvest__time_entries:schema_drift: ")
        and "cost_center" in line
        for line in held
    ), held
    assert any(
        line.startswith("  rejected files (") and line.endswith(": 1: broken.json") for line in held
    ), held
    assert "  exceptions for delivery: 2 (future_dated 2)" in held


#: The most lines ``d2b run`` may print on a fresh home (stdout and stderr together).
RUN_OUTPUT_LINES = 60


def _run_output_ends_with_the_summary(result) -> list[str]:
    """The run's lines on the terminal, checked for what every run prints; returned."""
    lines = result.stdout.splitlines() + result.stderr.splitlines()
    assert len(lines) <= RUN_OUTPUT_LINES, "\n".join(lines)
    assert "DEBUG" not in result.stdout + result.stderr
    log_lines = [line for line in lines if line.startswith("log (Dagster events, dbt output): ")]
    assert len(log_lines) == 1, lines
    log = Path(log_lines[0].split(": ", 1)[1])
    assert log.parent.name == "logs" and "STEP_START" in log.read_text()
    out = result.stdout.splitlines()
    assert any(line.startswith("ingest: ") for line in out), out
    # the ERP feedback is read before the build (a fresh home has sent nothing to an ERP)
    feedback = [n for n, line in enumerate(out) if line.startswith("ERP feedback: ")]
    assert [out[n] for n in feedback] == ["ERP feedback: nothing sent to the ERP yet"], out
    assert feedback[0] < next(n for n, line in enumerate(out) if line.startswith("ingest: "))
    assert any(line.startswith("dbt build: ") and " models, " in line for line in out), out
    assert any(line.startswith("publish in ") for line in out), out
    assert out[-1].startswith("Next: `d2b dashboard`"), out
    return out


def test_a_run_prints_its_phases_and_a_summary_and_logs_the_detail(tiny_run):
    home, result = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    out = _run_output_ends_with_the_summary(result)
    assert "What was held and why:" in out
    assert Path(out[1].split(": ", 1)[1]).parent == home  # the landing zone's line
    assert result.stderr == ""


@pytest.mark.slow
def test_a_first_run_on_the_sample_firm_prints_at_most_60_lines_ending_in_money(tmp_path):
    """``make run`` on a fresh home: the sample firm is generated, built and summarized."""
    result = run_d2b("run", home=tmp_path / "home", timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    out = _run_output_ends_with_the_summary(result)
    summary = out[out.index(next(line for line in out if line.startswith("run "))) :]
    worth = next(line for line in summary if line.startswith("Unbilled approved hours as of "))
    assert ", worth USD " in worth and worth.endswith(" (work in progress)")
    assert "  largest 5 clients by work in progress:" in summary
    assert any(line.startswith("Revenue leakage: USD ") for line in summary)
    assert any(line.startswith("  exceptions for ") for line in summary)
    assert any(line.startswith("  rejected files (") for line in summary)
    # clients by name, not by a system's internal id
    clients = summary[summary.index("  largest 5 clients by work in progress:") + 1 :][:5]
    assert not any(line.strip().startswith(("harvest:", "toggl:")) for line in clients), clients
