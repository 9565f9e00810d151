"""Toggl Track time entries in the formats Toggl ships: detailed-report CSV and API v9 JSON.

The fixtures under ``tests/fixtures/toggl/`` are written from Toggl's documentation and
published exports (not from the generator); each test works out its expected rows and
figures by hand and checks rows read = rows loaded + rows rejected.
"""

from __future__ import annotations

import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.loader import LOADED, REJECTED, load_landing
from ingest.warehouse import connect

FIXTURES = Path(__file__).parent / "fixtures" / "toggl"
ENTRIES = "toggl/time_entries"


@pytest.fixture
def warehouse(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        yield con


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


def land(landing: Path, fixture: str, name: str | None = None) -> None:
    target = landing / ENTRIES / (name or fixture)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURES / fixture, target)


def derived_key(
    email: str,
    start_date: str,
    start_time: str,
    project: str,
    task: str,
    description: str,
    occurrence: int,
) -> int:
    """The documented rule (docs/sources.md), computed independently of the loader's SQL."""
    fields = (email.strip().lower(), start_date, start_time, project, task, description)
    text = "\x1f".join(("toggl/time_entries", *fields, str(occurrence)))
    return -int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def rows_of(con, source_file: str) -> list[tuple]:
    return con.execute(
        "SELECT _row_number, time_entry_id, email, billable, start_date::VARCHAR, "
        "start_time::VARCHAR, end_date::VARCHAR, end_time::VARCHAR, "
        "extract(epoch FROM duration) / 3600, amount, amount_currency, tags "
        "FROM raw.toggl__time_entries WHERE _source_file = ? ORDER BY _row_number",
        [source_file],
    ).fetchall()


def assert_invariant(con) -> None:
    """rows read = raw rows + rejected rows, for every loaded file."""
    mismatches = con.execute(
        """
        SELECT f.source_file
        FROM ops.landed_files f
        LEFT JOIN (SELECT _load_id, count(*) n FROM raw.toggl__time_entries GROUP BY 1) r
            ON r._load_id = f.load_id
        LEFT JOIN (SELECT load_id, count(*) n FROM quarantine.rejected_rows GROUP BY 1) q
            ON q.load_id = f.load_id
        WHERE f.status = 'loaded' AND f.rows_read <> coalesce(r.n, 0) + coalesce(q.n, 0)
        """
    ).fetchall()
    assert mismatches == []


def test_stock_detailed_report_loads_every_row(landing, warehouse):
    # BOM, 12-hour times, Amount (USD), an entry past midnight, a non-billable entry without
    # amount, and two identical rows (two entries Toggl cannot tell apart).
    land(landing, "detailed_report_usd.csv")

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_read, o.rows_loaded, o.rows_rejected) for o in report.files] == [
        (LOADED, 6, 6, 0)
    ]
    harry, sam = "harry@tuttle.example", "sam@tuttle.example"
    relaunch = "Website relaunch"
    keys = [
        derived_key(harry, "2024-03-04", "09:00:00", relaunch, "Design", "Wireframes", 1),
        derived_key(harry, "2024-03-04", "13:00:00", relaunch, "Design", "Wireframes", 1),
        derived_key(sam, "2024-03-04", "15:00:00", "Internal", "", "Team meeting", 1),
        derived_key(sam, "2024-03-04", "22:45:00", relaunch, "Deployment", "Release night", 1),
        derived_key(sam, "2024-03-05", "12:00:00", relaunch, "Development", "Bug fixing", 1),
        derived_key(sam, "2024-03-05", "12:00:00", relaunch, "Development", "Bug fixing", 2),
    ]
    usd = "USD"
    assert rows_of(warehouse, f"{ENTRIES}/detailed_report_usd.csv") == [
        (1, keys[0], harry, True, "2024-03-04", "09:00:00", "2024-03-04", "11:30:00", 2.5,
         Decimal("250.00"), usd, None),
        (2, keys[1], harry, True, "2024-03-04", "13:00:00", "2024-03-04", "14:15:00", 1.25,
         Decimal("125.00"), usd, "client, onsite"),
        (3, keys[2], sam, False, "2024-03-04", "15:00:00", "2024-03-04", "16:00:00", 1.0,
         None, usd, None),
        (4, keys[3], sam, True, "2024-03-04", "22:45:00", "2024-03-05", "00:30:00", 1.75,
         Decimal("175.00"), usd, None),
        (5, keys[4], sam, True, "2024-03-05", "12:00:00", "2024-03-05", "12:45:00", 0.75,
         Decimal("75.00"), usd, None),
        (6, keys[5], sam, True, "2024-03-05", "12:00:00", "2024-03-05", "12:45:00", 0.75,
         Decimal("75.00"), usd, None),
    ]  # fmt: skip
    assert len(set(keys)) == 6 and all(key < 0 for key in keys)
    # 8 h logged, 7 of them billable, worth 700.00 USD.
    assert warehouse.execute(
        "SELECT sum(extract(epoch FROM duration)) / 3600, "
        "sum(extract(epoch FROM duration)) FILTER (billable) / 3600, sum(amount), "
        "count(approval_status), count(updated_at) "
        "FROM raw.toggl__time_entries"
    ).fetchall() == [(8.0, 7.0, Decimal("700.00"), 0, 0)]
    assert_invariant(warehouse)


def test_a_re_export_of_the_same_entries_loads_the_same_keys(landing, warehouse):
    # The same entries exported again by a user with the 24-hour clock, without BOM, in
    # another order, under another window's name.
    original = (FIXTURES / "detailed_report_usd.csv").read_text(encoding="utf-8-sig")
    header, *rows = original.splitlines()
    to_24h = {
        "09:00:00 AM": "09:00:00", "11:30:00 AM": "11:30:00", "01:00:00 PM": "13:00:00",
        "02:15:00 PM": "14:15:00", "03:00:00 PM": "15:00:00", "04:00:00 PM": "16:00:00",
        "10:45:00 PM": "22:45:00", "12:30:00 AM": "00:30:00", "12:00:00 PM": "12:00:00",
        "12:45:00 PM": "12:45:00",
    }  # fmt: skip
    re_exported = []
    for row in reversed(rows):
        for twelve, twenty_four in to_24h.items():
            row = row.replace(f",{twelve},", f",{twenty_four},")
        re_exported.append(row)
    assert not any(" AM," in row or " PM," in row for row in re_exported)
    land(landing, "detailed_report_usd.csv")
    target = landing / ENTRIES / "Toggl_time_entries_2024-03-01_to_2024-03-31.csv"
    target.write_text("\n".join([header, *re_exported]) + "\n", encoding="utf-8")

    report = load_landing(warehouse, landing)

    assert {(o.status, o.rows_loaded) for o in report.files} == {(LOADED, 6)}
    keys = {
        path: sorted(key for (key,) in rows)
        for path in ("detailed_report_usd.csv", target.name)
        for rows in [
            warehouse.execute(
                "SELECT time_entry_id FROM raw.toggl__time_entries WHERE _source_file = ?",
                [f"{ENTRIES}/{path}"],
            ).fetchall()
        ]
    }
    assert keys["detailed_report_usd.csv"] == keys[target.name]
    assert len(set(keys[target.name])) == 6
    assert_invariant(warehouse)


def test_a_report_without_amounts_loads_without_currency(landing, warehouse):
    # 13 stock columns (amounts hidden), 24-hour times, empty Client/Project/Task.
    land(landing, "detailed_report_no_amount.csv")

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_read, o.rows_loaded) for o in report.files] == [(LOADED, 2, 2)]
    email = "din@epost.example"
    assert rows_of(warehouse, f"{ENTRIES}/detailed_report_no_amount.csv") == [
        (1, derived_key(email, "2019-04-01", "08:00:00", "", "", "beskrivelse1", 1), email,
         False, "2019-04-01", "08:00:00", "2019-04-01", "08:15:00", 0.25, None, None,
         "timekode:32010000-1"),
        (2, derived_key(email, "2019-04-01", "08:15:00", "Prosjekt X", "Analyse", "Kravarbeid",
                        1), email,
         True, "2019-04-01", "08:15:00", "2019-04-01", "12:00:00", 3.75, None, None, None),
    ]  # fmt: skip
    assert_invariant(warehouse)


def test_a_report_missing_a_stock_column_is_rejected_whole(landing, warehouse):
    target = landing / ENTRIES / "no_tags.csv"
    target.parent.mkdir(parents=True)
    target.write_text(
        "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,"
        "End time,Duration\nA,a@x.example,,,,,No,2024-01-02,08:00:00,2024-01-02,09:00:00,"
        "01:00:00\n",
        encoding="utf-8",
    )

    report = load_landing(warehouse, landing)

    assert [(o.status, o.reason, o.detail) for o in report.files] == [
        (REJECTED, "missing_required_column", "missing required column(s): Tags")
    ]


def test_the_integrations_extra_columns_are_read_when_present(landing, warehouse):
    # An integration's export: stock columns, Amount (EUR), then the id and approval audit.
    target = landing / ENTRIES / "with_extras.csv"
    target.parent.mkdir(parents=True)
    target.write_text(
        "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,"
        "End time,Duration,Tags,Amount (EUR),Time entry ID,Approval status,Submitted at,"
        "Approved at,Updated at\n"
        "Zoe Bell,zoe.bell@northwind.example,Massive N.V.,P-10029 Finance Transformation,"
        "Advisory,Advisory call,Yes,2025-11-24,09:00:00,2025-11-24,12:45:00,03:45:00,,"
        "1125.00,3600000001,approved,2025-12-01T13:26:36Z,2025-12-03T13:27:00Z,"
        "2025-12-03T13:27:00Z\n",
        encoding="utf-8",
    )

    load_landing(warehouse, landing)

    assert warehouse.execute(
        "SELECT time_entry_id, amount, amount_currency, approval_status, "
        "approved_at::VARCHAR, updated_at::VARCHAR FROM raw.toggl__time_entries"
    ).fetchall() == [
        (
            3600000001,
            Decimal("1125.00"),
            "EUR",
            "approved",
            "2025-12-03 13:27:00",
            "2025-12-03 13:27:00",
        )
    ]


def test_an_api_v9_page_loads_completed_entries_in_utc(landing, warehouse):
    # Six entries of GET /api/v9/me/time_entries: two still running (duration -1 and
    # -epoch), one deleted, one whose times carry a -05:00 offset.
    land(landing, "api_v9_time_entries.json")

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_read, o.rows_loaded, o.rows_rejected) for o in report.files] == [
        (LOADED, 6, 4, 2)
    ]
    assert warehouse.execute(
        "SELECT row_number, reason, detail FROM quarantine.rejected_rows ORDER BY row_number"
    ).fetchall() == [
        (
            2,
            "unexpected_record_type",
            "a running entry (duration -1734049107, no stop): not a completed time entry yet",
        ),
        (
            3,
            "unexpected_record_type",
            "a running entry (duration -1, no stop): not a completed time entry yet",
        ),
    ]
    assert warehouse.execute(
        "SELECT time_entry_id, workspace_id, user_id, project_id, task_id, billable, "
        "start_date::VARCHAR, start_time::VARCHAR, end_date::VARCHAR, end_time::VARCHAR, "
        "extract(epoch FROM duration) / 3600, description, tags, updated_at::VARCHAR, "
        "deleted_at::VARCHAR, time_zone, email, amount "
        "FROM raw.toggl__time_entries ORDER BY _row_number"
    ).fetchall() == [
        (3730276799, 2230580, 2166261, None, None, False, "2024-12-16", "02:18:20",
         "2024-12-16", "03:18:20", 1.0, None, None, "2024-12-16 01:18:20.433038", None,
         "UTC", None, None),
        (3730300001, 2230580, 2166261, 155392684, 4120001, True, "2024-12-16", "08:00:00",
         "2024-12-16", "10:30:00", 2.5, "Workshop", "client, onsite",
         "2024-12-16 10:30:05.000001", None, "UTC", None, None),
        (3730300002, 2230580, 2166261, 155392684, None, True, "2024-12-16", "11:00:00",
         "2024-12-16", "11:30:00", 0.5, "Logged by mistake", None, "2024-12-17 09:00:00.5",
         "2024-12-17 09:00:00.5", "UTC", None, None),
        # 23:30 and 01:00 at -05:00 are 04:30 and 06:00 UTC the next day
        (3730300003, 2230580, 2166261, 155392684, None, True, "2024-12-17", "04:30:00",
         "2024-12-17", "06:00:00", 1.5, "Late call", None, "2024-12-17 06:00:02.25", None,
         "UTC", None, None),
    ]  # fmt: skip
    # 5.5 h of completed entries, 5.0 h of them not deleted; no field is schema drift.
    assert warehouse.execute(
        "SELECT sum(extract(epoch FROM duration)) / 3600, "
        "sum(extract(epoch FROM duration)) FILTER (deleted_at IS NULL) / 3600, count(_extra) "
        "FROM raw.toggl__time_entries"
    ).fetchall() == [(5.5, 5.0, 0)]
    assert_invariant(warehouse)


def test_an_api_document_that_is_not_an_array_is_rejected_whole(landing, warehouse):
    target = landing / ENTRIES / "current.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"id": 1, "duration": -1}', encoding="utf-8")

    report = load_landing(warehouse, landing)

    assert [(o.status, o.reason) for o in report.files] == [(REJECTED, "unexpected_structure")]
