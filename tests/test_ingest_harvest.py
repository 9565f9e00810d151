"""Loading Harvest time-entry pages: nothing lost, nothing loaded twice, reasons recorded."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date, datetime

import pytest

from ingest.loader import DUPLICATE, LOADED, REJECTED, UNCHANGED, UNRECOGNISED, load_landing
from ingest.warehouse import connect
from tests.harvest_pages import Entry, write_page

APPROVED = datetime(2026, 3, 4, 9, 30)


def entry(id_: int, **fields) -> Entry:
    return Entry(id=id_, spent_date=date(2026, 3, 2), hours=7.5, approved_at=APPROVED, **fields)


def raw_count(con) -> int:
    return con.execute("SELECT count(*) FROM raw.harvest__time_entries").fetchone()[0]


def rejected_rows(con) -> list[tuple]:
    return con.execute(
        "SELECT row_number, reason, detail FROM quarantine.rejected_rows ORDER BY row_number"
    ).fetchall()


def assert_invariant(con) -> None:
    """rows read = raw rows + rejected rows, per load and overall (docs/design.md §2)."""
    mismatches = con.execute(
        """
        SELECT f.load_id
        FROM ops.landed_files f
        LEFT JOIN (SELECT _load_id, count(*) n FROM raw.harvest__time_entries GROUP BY 1) r
            ON r._load_id = f.load_id
        LEFT JOIN (SELECT load_id, count(*) n FROM quarantine.rejected_rows GROUP BY 1) q
            ON q.load_id = f.load_id
        WHERE f.status = 'loaded' AND f.supersedes_load_id IS NULL
          AND f.rows_read <> coalesce(r.n, 0) + coalesce(q.n, 0)
        """
    ).fetchall()
    assert mismatches == []


@pytest.fixture
def warehouse(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        yield con


def test_valid_page_loads_every_row_with_lineage(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_page(landing, "p1.json", [entry(1), entry(2, billable=False), entry(3)])

    report = load_landing(warehouse, landing)

    assert [o.status for o in report.files] == [LOADED]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 3, 0)
    rows = warehouse.execute(
        "SELECT id, hours, billable, user_id, project_id, approved_at, _source_file, "
        "_row_number, length(_file_sha256), _load_id IS NOT NULL, _ingested_at IS NOT NULL "
        "FROM raw.harvest__time_entries ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert float(rows[0][1]) == 7.5
    assert rows[1][2] is False
    assert rows[0][3:6] == (71, 501, APPROVED)
    assert rows[2][6:] == ("harvest/time_entries/p1.json", 3, 64, True, True)
    assert_invariant(warehouse)


def test_bad_rows_go_to_quarantine_with_specific_reasons(tmp_path, warehouse):
    landing = tmp_path / "landing"
    good = entry(1).as_json()
    non_numeric = {**entry(2).as_json(), "hours": "seven"}
    impossible_date = {**entry(3).as_json(), "spent_date": "2026-02-30"}
    absurd_hours = {**entry(4).as_json(), "hours": 250}
    negative_hours = {**entry(5).as_json(), "hours": -1}
    missing_id = {k: v for k, v in entry(6).as_json().items() if k != "id"}
    not_an_object = 42
    write_page(
        landing,
        "p1.json",
        [
            good,
            non_numeric,
            impossible_date,
            absurd_hours,
            negative_hours,
            missing_id,
            not_an_object,
        ],
    )

    report = load_landing(warehouse, landing)

    # Only unreadable rows are load errors: 250 hours and -1 hours read fine and load, for
    # the dbt models to raise as exceptions (docs/design.md §2).
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (7, 3, 4)
    assert rejected_rows(warehouse) == [
        (2, "invalid_type", "hours is not a valid decimal(12, 4): seven"),
        (3, "invalid_type", "spent_date is not a valid date: 2026-02-30"),
        (6, "missing_required_field", "id is missing"),
        (7, "not_an_object", "record is not an object"),
    ]
    loaded = warehouse.execute(
        "SELECT id, hours FROM raw.harvest__time_entries ORDER BY id"
    ).fetchall()
    assert [(i, float(h)) for i, h in loaded] == [(1, 7.5), (4, 250.0), (5, -1.0)]
    payload = warehouse.execute(
        "SELECT payload->>'$.hours' FROM quarantine.rejected_rows WHERE row_number = 2"
    ).fetchone()[0]
    assert payload == "seven"
    assert_invariant(warehouse)


def test_truncated_and_empty_files_are_rejected_whole(tmp_path, warehouse):
    landing = tmp_path / "landing"
    good = write_page(landing, "good.json", [entry(1)])
    truncated = good.with_name("truncated.json")
    truncated.write_text(good.read_text()[:150])
    good.with_name("empty.json").write_bytes(b"")

    report = load_landing(warehouse, landing)

    by_file = {o.relative_path.rsplit("/", 1)[1]: o for o in report.files}
    assert by_file["good.json"].status == LOADED
    assert (by_file["truncated.json"].status, by_file["truncated.json"].reason) == (
        REJECTED,
        "unparseable",
    )
    assert (by_file["empty.json"].status, by_file["empty.json"].reason) == (REJECTED, "empty_file")
    assert warehouse.execute("SELECT count(*) FROM quarantine.rejected_files").fetchone()[0] == 2
    assert raw_count(warehouse) == 1


def test_a_registered_file_is_not_read_again_until_it_changes(tmp_path, warehouse, monkeypatch):
    from ingest import landing as landing_zone

    landing = tmp_path / "landing"
    old_page = write_page(landing, "p1.json", [entry(1), entry(2)])
    an_hour_ago = time.time() - 3600
    os.utime(old_page, (an_hour_ago, an_hour_ago))
    write_page(landing, "p2.json", [entry(5)])  # written just now: its mtime is not trusted
    load_landing(warehouse, landing)

    hashed: list[str] = []
    real_sha256 = landing_zone.file_sha256
    monkeypatch.setattr(
        landing_zone, "file_sha256", lambda path: hashed.append(path.name) or real_sha256(path)
    )
    again = load_landing(warehouse, landing)
    assert [o.status for o in again.files] == [UNCHANGED, UNCHANGED]
    assert hashed == ["p2.json"]  # the old page by its size and mtime alone

    # rewritten in place with the same size: the new mtime gives it away
    size = old_page.stat().st_size
    write_page(landing, "p1.json", [entry(3), entry(2)])
    assert old_page.stat().st_size == size
    hashed.clear()
    rewritten = load_landing(warehouse, landing)
    statuses = {o.relative_path.rsplit("/", 1)[1]: o.status for o in rewritten.files}
    assert statuses == {"p1.json": LOADED, "p2.json": UNCHANGED}
    assert "p1.json" in hashed
    ids = warehouse.execute("SELECT id FROM raw.harvest__time_entries ORDER BY id").fetchall()
    assert ids == [(2,), (3,), (5,)]  # the new version's rows replaced the old ones


def test_reloading_is_a_noop_and_a_copied_file_is_a_duplicate(tmp_path, warehouse):
    landing = tmp_path / "landing"
    first = write_page(landing, "p1.json", [entry(1), entry(2)])
    load_landing(warehouse, landing)

    again = load_landing(warehouse, landing)
    assert [o.status for o in again.files] == [UNCHANGED]

    shutil.copy(first, first.with_name("p1-copy.json"))
    copied = load_landing(warehouse, landing)
    statuses = {o.relative_path.rsplit("/", 1)[1]: o.status for o in copied.files}
    assert statuses == {"p1.json": UNCHANGED, "p1-copy.json": DUPLICATE}
    assert raw_count(warehouse) == 2


def test_new_version_of_a_file_supersedes_its_rows(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_page(landing, "p1.json", [entry(1), entry(2)])
    load_landing(warehouse, landing)
    write_page(landing, "p1.json", [entry(1), entry(2), entry(3)])

    report = load_landing(warehouse, landing)

    assert [o.status for o in report.files] == [LOADED]
    assert raw_count(warehouse) == 3
    assert (
        warehouse.execute(
            "SELECT count(DISTINCT _load_id) FROM raw.harvest__time_entries"
        ).fetchone()[0]
        == 1
    )
    supersedes = warehouse.execute(
        "SELECT count(*) FROM ops.landed_files WHERE supersedes_load_id IS NOT NULL"
    ).fetchone()[0]
    assert supersedes == 1


def test_extra_fields_are_kept_as_json(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_page(landing, "p1.json", [{**entry(1).as_json(), "cost_center": "CC-12"}, entry(2)])

    load_landing(warehouse, landing)

    extras = warehouse.execute(
        "SELECT id, _extra FROM raw.harvest__time_entries ORDER BY id"
    ).fetchall()
    assert json.loads(extras[0][1]) == {"cost_center": "CC-12"}
    assert extras[1][1] is None


def test_files_without_a_parser_are_left_for_later(tmp_path, warehouse):
    landing = tmp_path / "landing"
    folder = landing / "someerp" / "things"
    folder.mkdir(parents=True)
    (folder / "x.csv").write_text("a,b\n1,2\n")

    report = load_landing(warehouse, landing)

    assert [o.status for o in report.files] == [UNRECOGNISED]
    assert warehouse.execute("SELECT count(*) FROM ops.landed_files").fetchone()[0] == 0


def test_a_failing_load_leaves_nothing_behind(tmp_path, warehouse, monkeypatch):
    landing = tmp_path / "landing"
    write_page(landing, "p1.json", [entry(1), entry(2)])

    from ingest import sinks

    def crash(*_args, **_kwargs):
        raise OSError("disk went away")

    monkeypatch.setattr(sinks.DuckDBSink, "write", crash)
    with pytest.raises(OSError):
        load_landing(warehouse, landing)
    monkeypatch.undo()

    assert warehouse.execute("SELECT count(*) FROM ops.landed_files").fetchone()[0] == 0
    report = load_landing(warehouse, landing)
    assert report.rows_loaded == 2
