"""PSA files in the formats the vendors ship reach the time-entry facts.

The Toggl fixtures under ``tests/fixtures/toggl/`` (stock detailed-report CSV, API v9 time
entries and projects) and Harvest v2 pages (tests/harvest_pages.py) are loaded into an empty
warehouse and the time-entry chain is built on a copy of the dbt project; each test works out
the facts it expects by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dagster_project.dbt import DBT_PROJECT_DIR, dbt_executable
from ingest.loader import load_landing
from ingest.warehouse import connect
from tests.harvest_pages import Entry, page

#: Whole-pipeline builds on hand-written landings: the slow step of CI runs them.
pytestmark = pytest.mark.slow

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
    """Load the landing zone; build the time-entry facts, lifecycle events and hours tie-out.

    As of today (the default as-of date).
    """
    with connect(project.parent / "warehouse.duckdb") as con:
        load_landing(con, project.parent / "landing")
    built = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--select",
            # the hours tie-out (which reads the exceptions) checks nothing is lost
            "+fct_time_entries +fct_lifecycle_events +billing_exceptions "
            "assert_time_entry_hours_tie_out",
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
    assert "assert_time_entry_hours_tie_out" in built.stdout


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
        "where source_system = 'toggl' order by work_date, person_source_id, hours, "
        "exception_reasons",
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


def land_harvest_page(
    project: Path,
    relative: str,
    entries: list[Entry],
    window: tuple[date, date] | None = None,
) -> None:
    """Write one Harvest time-entries page at ``harvest/time_entries/<relative>``.

    ``window``: the page is of an export by spent date, ``from``/``to``, which Harvest
    repeats in the page's links (as it repeats every query parameter).
    """
    document = page([entry.as_json() for entry in entries])
    if window:
        document["links"]["first"] = (
            f"https://api.harvestapp.com/v2/time_entries?from={window[0].isoformat()}"
            f"&page=1&per_page=2000&to={window[1].isoformat()}"
        )
    target = project.parent / "landing" / "harvest" / "time_entries" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document))


def test_a_harvest_re_export_of_a_window_without_an_entry_retires_it(project):
    # The week of 2 June exported by spent date lists 1001 and 1002; an export of changes
    # (updated_since, no window) lists 1003 of 10 June. The week's re-export, loaded later,
    # lists only 1001: 1002 was deleted in Harvest. 1003 lies outside the window: kept.
    week = (date(2025, 6, 2), date(2025, 6, 8))
    land_harvest_page(
        project,
        "time_entries_2025-06-02_2025-06-08_page_0001.json",
        [Entry(1001, date(2025, 6, 2), 2.0), Entry(1002, date(2025, 6, 3), 3.0)],
        window=week,
    )
    land_harvest_page(
        project,
        "time_entries_updated_2025-06-11_page_0001.json",
        [Entry(1003, date(2025, 6, 10), 1.0)],
    )
    with connect(project.parent / "warehouse.duckdb") as con:
        load_landing(con, project.parent / "landing")
    land_harvest_page(
        project,
        "time_entries_2025-06-02_2025-06-08_export_2_page_0001.json",
        [Entry(1001, date(2025, 6, 2), 2.0)],
        window=week,
    )
    build_time_entry_facts(project)

    facts = query(
        project,
        "select source_id, hours from marts.fct_time_entries "
        "where source_system = 'harvest' order by source_id",
    )
    # delivered: 2 h + 1 h; the deleted 3 h are not
    assert [(source_id, float(hours)) for source_id, hours in facts] == [
        ("1001", 2.0),
        ("1003", 1.0),
    ]
    ((reexport_loaded_at,),) = query(
        project,
        "select min(_ingested_at) from raw.harvest__time_entries "
        "where _source_file like '%export_2%'",
    )
    assert query(
        project,
        "select source_id, event_at from marts.fct_lifecycle_events where event_type = 'deleted'",
    ) == [("1002", reexport_loaded_at)]


def land_export_and_re_export(project: Path, re_export_delivered_after: timedelta) -> None:
    """Land one week's export (1001: 2 h, 1002: 3 h) and its re-export without 1002, the
    re-export delivered (file mtime) ``re_export_delivered_after`` the export, for one load."""
    week = (date(2025, 6, 2), date(2025, 6, 8))
    export = "time_entries_2025-06-02_2025-06-08_page_0001.json"
    re_export = "time_entries_2025-06-02_2025-06-08_export_2_page_0001.json"
    land_harvest_page(
        project,
        export,
        [Entry(1001, date(2025, 6, 2), 2.0), Entry(1002, date(2025, 6, 3), 3.0)],
        window=week,
    )
    land_harvest_page(project, re_export, [Entry(1001, date(2025, 6, 2), 2.0)], window=week)
    files = project.parent / "landing" / "harvest" / "time_entries"
    delivered = datetime(2025, 6, 9, 6, 0)
    os.utime(files / export, (delivered.timestamp(),) * 2)
    re_delivered = (delivered + re_export_delivered_after).timestamp()
    os.utime(files / re_export, (re_delivered,) * 2)


def test_a_re_export_landed_with_its_export_in_one_load_retires_by_delivery_order(project):
    # A firm's first backfill: the week's export and its re-export arrive together and are
    # loaded at once, so both files share a load time; the re-export was delivered later (its
    # mtime), and 1002, missing from it, is retired, known at that load.
    land_export_and_re_export(project, re_export_delivered_after=timedelta(days=1))
    build_time_entry_facts(project)

    facts = query(
        project,
        "select source_id, hours from marts.fct_time_entries "
        "where source_system = 'harvest' order by source_id",
    )
    assert [(source_id, float(hours)) for source_id, hours in facts] == [("1001", 2.0)]
    ((loaded_at,),) = query(project, "select min(_ingested_at) from raw.harvest__time_entries")
    assert query(
        project,
        "select source_id, event_at from marts.fct_lifecycle_events where event_type = 'deleted'",
    ) == [("1002", loaded_at)]


def test_an_export_delivered_after_its_re_export_retires_nothing(project):
    # The same two files, the re-export delivered first: the later file lists 1002 again, so
    # the earlier re-export cannot mean it was deleted; both entries stay delivered.
    land_export_and_re_export(project, re_export_delivered_after=timedelta(days=-1))
    build_time_entry_facts(project)

    facts = query(
        project,
        "select source_id, hours from marts.fct_time_entries "
        "where source_system = 'harvest' order by source_id",
    )
    assert [(source_id, float(hours)) for source_id, hours in facts] == [
        ("1001", 2.0),
        ("1002", 3.0),
    ]
    assert query(
        project, "select count(*) from marts.fct_lifecycle_events where event_type = 'deleted'"
    ) == [(0,)]


def test_two_harvest_accounts_with_overlapping_ids_load_side_by_side(project):
    # The default account (files directly under harvest/time_entries/) and account `acme`
    # (harvest/time_entries/acme/) both have entry 1001 by user 71 on project 501, task 9,
    # same day, hours and notes: two entries, not one, and not duplicates of each other.
    worked, approved = date(2025, 6, 2), datetime(2025, 6, 3, 9, 0)
    land_harvest_page(project, "time_entries_2025-06-04_page_0001.json", [Entry(1001, worked, 2.0)])
    land_harvest_page(
        project,
        "acme/time_entries_2025-06-04_page_0001.json",
        [Entry(1001, worked, 2.0, approved_at=approved), Entry(1002, worked, 1.5)],
    )
    build_time_entry_facts(project)

    facts = query(
        project,
        "select source_id, person_source_id, project_source_id, task_source_id, hours, "
        "exception_reasons from marts.fct_time_entries where source_system = 'harvest' "
        "order by source_id",
    )
    # the default account's ids stay as they are (the sample firm's keys do not move); the
    # account's are qualified by it; no export of projects, users or tasks yet, so no rule
    # that waits for them applies
    assert [(*row[:4], float(row[4]), row[5]) for row in facts] == [
        ("1001", "71", "501", "9", 2.0, None),
        ("acme:1001", "acme:71", "acme:501", "acme:9", 2.0, None),
        ("acme:1002", "acme:71", "acme:501", "acme:9", 1.5, None),
    ]
    ((distinct_correlations,),) = query(
        project,
        "select count(distinct correlation_id) from marts.fct_time_entries "
        "where source_system = 'harvest'",
    )
    assert distinct_correlations == 3
