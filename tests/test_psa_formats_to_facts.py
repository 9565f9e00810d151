"""PSA files in the formats the vendors ship reach the time-entry facts.

The Toggl fixtures under ``tests/fixtures/toggl/`` (stock detailed-report CSV, API v9 time
entries and projects) are loaded into an empty warehouse and the time-entry chain is built on
a copy of the dbt project; each test works out the facts it expects by hand.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dagster_project.dbt import DBT_PROJECT_DIR, dbt_executable
from ingest.loader import load_landing
from ingest.warehouse import connect

TOGGL_FIXTURES = Path(__file__).parent / "fixtures" / "toggl"


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the dbt project (and the rule tables its seeds read) beside a landing zone."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs")
    )
    # seed-paths reads ../ingest/config in place
    shutil.copytree(DBT_PROJECT_DIR.parent / "ingest" / "config", tmp_path / "ingest" / "config")
    (tmp_path / "landing").mkdir()
    return copy


def land(project: Path, system: str, entity: str, fixture: Path, name: str | None = None) -> None:
    """Copy a fixture into the landing zone beside ``project``."""
    target = project.parent / "landing" / system / entity / (name or fixture.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture, target)


def build_time_entry_facts(project: Path) -> None:
    """Load the landing zone and build the time-entry facts and lifecycle events, as of today."""
    with connect(project.parent / "warehouse.duckdb") as con:
        load_landing(con, project.parent / "landing")
    built = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--select",
            "+fct_time_entries +fct_lifecycle_events",
            "--exclude-resource-type",
            "unit_test",
            # tests that also read models outside the selection are left out
            "--indirect-selection",
            "cautious",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
        ],
        env={
            "PATH": str(Path(dbt_executable()).parent),
            "HOME": str(project.parent),
            "D2B_WAREHOUSE": str(project.parent / "warehouse.duckdb"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-4000:]


def query(project: Path, sql: str, params: list | None = None) -> list[tuple]:
    with connect(project.parent / "warehouse.duckdb", read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_stock_toggl_csv_and_api_v9_entries_reach_the_facts(project):
    land(project, "toggl", "time_entries", TOGGL_FIXTURES / "detailed_report_usd.csv")
    land(project, "toggl", "time_entries", TOGGL_FIXTURES / "api_v9_time_entries.json")
    land(
        project,
        "toggl",
        "projects",
        TOGGL_FIXTURES / "api_v9_projects.json",
        "projects_2024-12-31.json",
    )
    # as of today: the stock CSV's entries are known from their load (they carry no update time)
    build_time_entry_facts(project)

    facts = query(
        project,
        "select person_source_id, project_source_id, project_code, work_date::varchar, "
        "hours, is_billable, psa_currency, exception_reasons from marts.fct_time_entries "
        "where source_system = 'toggl' order by work_date, person_source_id, hours",
    )
    # CSV (USD, wall-clock local dates, no Updated at: known at its load): six entries, the
    # one past midnight on its start date; people by e-mail, projects by name, which the
    # projects export does not know (unknown_project, still delivered); the second identical
    # row is a duplicate_entry. API: three completed entries (two running ones are
    # quarantined at load); "Logged by mistake" is deleted in Toggl and retired; the person is
    # the Toggl user id, the project found by id in the projects export (no rate: missing_rate);
    # UTC starts read in Europe/Amsterdam (02:18Z -> 03:18 on the 16th; 04:30Z on the 17th ->
    # 05:30 on the 17th).
    harry, sam, api_user = "harry@tuttle.example", "sam@tuttle.example", "2166261"
    web, unknown = "Website relaunch", "unknown_project"
    rows = [(*row[:4], float(row[4]), *row[5:]) for row in facts]
    assert rows == [
        (harry, web, None, "2024-03-04", 1.25, True, "USD", unknown),
        (harry, web, None, "2024-03-04", 2.5, True, "USD", unknown),
        (sam, "Internal", None, "2024-03-04", 1.0, False, "USD", unknown),
        (sam, web, None, "2024-03-04", 1.75, True, "USD", unknown),
        (sam, web, None, "2024-03-05", 0.75, True, "USD", f"duplicate_entry, {unknown}"),
        (sam, web, None, "2024-03-05", 0.75, True, "USD", unknown),
        (api_user, None, None, "2024-12-16", 1.0, False, None, unknown),
        (api_user, "155392684", "P-20001", "2024-12-16", 2.5, True, None, "missing_rate"),
        (api_user, "155392684", "P-20001", "2024-12-17", 1.5, True, None, "missing_rate"),
    ]
    # delivered hours: 8 h from the CSV, 5 h from the API (the deleted 0.5 h is not counted)
    assert float(sum(row[4] for row in rows)) == 13.0
    # the deleted entry is retired with a lifecycle event at its deletion
    assert query(
        project,
        "select source_id, event_at::varchar from marts.fct_lifecycle_events "
        "where event_type = 'deleted'",
    ) == [("3730300002", "2024-12-17 09:00:00.5")]
