"""Volume-anomaly and schema-drift checks over real loads."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ingest.health import schema_check, volume_check
from ingest.loader import load_landing
from ingest.sources.harvest import TIME_ENTRIES
from ingest.warehouse import connect
from tests.harvest_pages import Entry, write_page

DAY0 = datetime(2026, 11, 2, 7)


def load_day(con, landing, day: int, rows: int, first_id: int) -> None:
    entries = [Entry(first_id + i, date(2026, 11, 1), 1) for i in range(rows)]
    write_page(landing, f"day{day}.json", entries)
    load_landing(con, landing, clock=lambda: DAY0 + timedelta(days=day))


def test_volume_check_flags_a_day_far_from_the_trailing_median(tmp_path):
    landing = tmp_path / "landing"
    with connect(tmp_path / "w.duckdb") as con:
        for day, rows in enumerate([10, 12, 11]):
            load_day(con, landing, day, rows, first_id=100 * day)
        normal = volume_check(con, "harvest", "time_entries")
        assert normal.history_days == 2 and normal.passed  # too little history to judge

        load_day(con, landing, 3, 11, first_id=300)
        steady = volume_check(con, "harvest", "time_entries")
        assert steady.history_days == 3
        assert steady.trailing_median == 11.0 and steady.passed

        load_day(con, landing, 4, 60, first_id=400)
        spike = volume_check(con, "harvest", "time_entries")
        assert spike.latest_rows == 60
        assert spike.ratio > 5 and not spike.passed

        load_day(con, landing, 5, 2, first_id=500)
        assert not volume_check(con, "harvest", "time_entries").passed


def test_schema_check_reports_undeclared_fields(tmp_path):
    landing = tmp_path / "landing"
    with connect(tmp_path / "w.duckdb") as con:
        write_page(landing, "clean.json", [Entry(1, date(2026, 11, 1), 1)])
        load_landing(con, landing)
        assert schema_check(con, TIME_ENTRIES).passed

        drifted = [
            {**Entry(i, date(2026, 11, 1), 1).as_json(), "cost_center": "CC"} for i in (2, 3)
        ]
        write_page(landing, "drift.json", drifted)
        load_landing(con, landing)
        check = schema_check(con, TIME_ENTRIES)
        assert check.undeclared_fields == {"cost_center": 2}
        assert not check.passed
