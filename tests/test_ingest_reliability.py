"""Ingest reliability: the landing zone cannot be tricked, and no value silently changes.

Each case is a small hand-written file in the vendor's documented format (docs/sources.md)
that broke the load before: a link out of the landing zone, a name DuckDB took as a glob, a
header field over Python's CSV limit, a file reverted to earlier bytes, a copy of a superseded
version, a Harvest page with a byte order mark.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest

from ingest.loader import DUPLICATE, LOADED, REJECTED, UNCHANGED, load_landing
from ingest.sources.concur import sae_position
from ingest.warehouse import connect
from tests.harvest_pages import Entry, page
from tests.test_ingest_formats import (
    TOGGL_HEADER,
    WORKER,
    WORKERS_HEADER,
    drop,
    sae_detail,
    sae_file,
    toggl_row,
)

APPROVED = datetime(2026, 3, 4, 9, 30)


def entry(id_: int, hours: float = 7.5) -> Entry:
    return Entry(id=id_, spent_date=date(2026, 3, 2), hours=hours, approved_at=APPROVED)


def harvest_page(*entries: Entry) -> str:
    return json.dumps(page([e.as_json() for e in entries]))


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        yield con


def harvest_rows(con) -> list[tuple]:
    return con.execute(
        "SELECT id, hours::DOUBLE, _source_file FROM raw.harvest__time_entries ORDER BY id"
    ).fetchall()


def statuses(report) -> list[tuple[str, str]]:
    return [(o.relative_path, o.status) for o in report.files]


def assert_rows_balance(con) -> None:
    """rows read = loaded + rejected for every file loaded (docs/design.md §2)."""
    assert (
        con.execute(
            "SELECT count(*) FROM ops.landed_files f WHERE status = 'loaded' AND rows_read <> "
            "rows_loaded + rows_rejected OR rows_rejected <> (SELECT count(*) FROM "
            "quarantine.rejected_rows q WHERE q.load_id = f.load_id)"
        ).fetchone()[0]
        == 0
    )


# --- the landing zone ---------------------------------------------------------------------


def test_a_symlink_out_of_the_landing_zone_is_refused_and_never_read(tmp_path, landing, warehouse):
    secret = tmp_path / "outside" / ".env"
    secret.parent.mkdir()
    secret.write_text(WORKERS_HEADER + "\n" + WORKER.replace("Amara", "SECRET") + "\n")
    drop(landing, "hris/workers/real.csv", WORKERS_HEADER + "\n" + WORKER + "\n")
    (landing / "hris" / "workers" / "w.csv").symlink_to(secret)
    # A system folder that is a link out of the zone: none of its files is read either.
    elsewhere = tmp_path / "elsewhere" / "time_entries"
    elsewhere.mkdir(parents=True)
    (elsewhere / "p.json").write_text(harvest_page(entry(1)))
    (landing / "harvest").symlink_to(elsewhere.parent)

    report = load_landing(warehouse, landing)
    again = load_landing(warehouse, landing)

    outcomes = {o.relative_path: o for o in report.files}
    for link in ("hris/workers/w.csv", "harvest/time_entries/p.json"):
        assert (outcomes[link].status, outcomes[link].reason) == (REJECTED, "outside_landing_zone")
        assert "outside the landing zone" in outcomes[link].detail
    assert outcomes["hris/workers/real.csv"].status == LOADED
    assert warehouse.execute("SELECT first_name FROM raw.hris__workers").fetchall() == [("Amara",)]
    assert warehouse.execute("SELECT count(*) FROM raw.harvest__time_entries").fetchone() == (0,)
    stored = warehouse.execute(
        "SELECT string_agg(payload::VARCHAR, '') FROM quarantine.rejected_rows"
    ).fetchone()[0]
    assert "SECRET" not in (stored or "")
    # Refused once: the next run finds the same link unchanged.
    assert {o.status for o in again.files} == {UNCHANGED}
    assert warehouse.execute("SELECT count(*) FROM quarantine.rejected_files").fetchone() == (2,)


@pytest.mark.parametrize("name", ["p[1].json", "p*.json", "p?.json"])
def test_a_name_with_glob_characters_loads_exactly_that_file_once(name, landing, warehouse):
    drop(landing, f"harvest/time_entries/{name}", harvest_page(entry(1), entry(2)))
    # What the name would match as a glob: never read in its place, nor twice.
    drop(landing, "harvest/time_entries/p1.json", harvest_page(entry(3, hours=1.0)))
    drop(landing, "harvest/time_entries/pa.json", harvest_page(entry(4, hours=2.0)))

    report = load_landing(warehouse, landing)

    assert {status for _, status in statuses(report)} == {LOADED}
    assert harvest_rows(warehouse) == [
        (1, 7.5, f"harvest/time_entries/{name}"),
        (2, 7.5, f"harvest/time_entries/{name}"),
        (3, 1.0, "harvest/time_entries/p1.json"),
        (4, 2.0, "harvest/time_entries/pa.json"),
    ]
    assert_rows_balance(warehouse)


@pytest.mark.parametrize(
    "relative", ["hris/workers/w[1].csv", "toggl/time_entries/t*.csv", "concur/expenses/e?.txt"]
)
def test_every_reader_takes_names_literally(relative, landing, warehouse):
    def content(entry_id: int) -> str:
        return {
            "hris": WORKERS_HEADER + "\n" + WORKER.replace("E100001", f"E{entry_id}") + "\n",
            "toggl": TOGGL_HEADER + "\n" + toggl_row(entry_id) + "\n",
            "concur": sae_file([sae_detail(1, entry_id, "45.00")]),
        }[relative.split("/")[0]]

    drop(landing, relative, content(9001))
    decoy = relative.replace("[1]", "1").replace("*", "x").replace("?", "x")
    drop(landing, decoy, content(9002))  # what the name matches as a glob

    report = load_landing(warehouse, landing)

    assert sorted((o.relative_path, o.status, o.rows_loaded) for o in report.files) == sorted(
        [(relative, LOADED, 1), (decoy, LOADED, 1)]
    )
    table, key = {
        "hris": ("hris__workers", "employee_id"),
        "toggl": ("toggl__time_entries", "time_entry_id"),
        "concur": ("concur__expenses", "report_entry_id"),
    }[relative.split("/")[0]]
    assert sorted(
        warehouse.execute(
            f"SELECT _source_file, right({key}::VARCHAR, 4) FROM raw.{table}"
        ).fetchall()
    ) == sorted([(relative, "9001"), (decoy, "9002")])


def test_a_header_field_over_the_csv_limit_rejects_that_file_not_the_load(landing, warehouse):
    oversized = '"' + "H" * (128 * 1024 + 1) + '"'
    drop(landing, "hris/workers/w.csv", f"{WORKERS_HEADER},{oversized}\n{WORKER},x\n")
    drop(landing, "hris/workers/w2.csv", WORKERS_HEADER + "\n" + WORKER + "\n")
    drop(landing, "toggl/time_entries/t.csv", f"User,{oversized}\nZoe,x\n")
    drop(landing, "harvest/time_entries/p.json", harvest_page(entry(1)))

    report = load_landing(warehouse, landing)

    outcomes = {o.relative_path: o for o in report.files}
    for bad in ("hris/workers/w.csv", "toggl/time_entries/t.csv"):
        assert (outcomes[bad].status, outcomes[bad].reason) == (REJECTED, "unparseable")
        assert "field larger than field limit" in outcomes[bad].detail
    assert outcomes["hris/workers/w2.csv"].status == LOADED
    assert outcomes["harvest/time_entries/p.json"].status == LOADED


def test_a_file_reverted_to_earlier_bytes_loads_them_again(landing, warehouse):
    path = landing / "harvest" / "time_entries" / "p.json"
    versions = [harvest_page(entry(1, hours=7.5)), harvest_page(entry(1, hours=3.0))]
    for content in (versions[0], versions[1], versions[0]):
        drop(landing, "harvest/time_entries/p.json", content)
        os.utime(path, ns=(1, path.stat().st_mtime_ns + 10**10))  # a later, trusted mtime
        report = load_landing(warehouse, landing)
        assert statuses(report) == [("harvest/time_entries/p.json", LOADED)]

    assert harvest_rows(warehouse) == [(1, 7.5, "harvest/time_entries/p.json")]
    assert statuses(load_landing(warehouse, landing)) == [
        ("harvest/time_entries/p.json", UNCHANGED)
    ]


def test_a_copy_of_a_superseded_version_loads_as_the_newest(landing, warehouse):
    first, second = harvest_page(entry(1, hours=7.5)), harvest_page(entry(1, hours=3.0))
    drop(landing, "harvest/time_entries/p.json", first)
    load_landing(warehouse, landing)
    drop(landing, "harvest/time_entries/p.json", second)
    load_landing(warehouse, landing)

    drop(landing, "harvest/time_entries/p_copy.json", first)
    report = load_landing(warehouse, landing)

    assert statuses(report) == [
        ("harvest/time_entries/p.json", UNCHANGED),
        ("harvest/time_entries/p_copy.json", LOADED),
    ]
    # A copy of the current version stays a duplicate.
    drop(landing, "harvest/time_entries/p_copy2.json", second)
    assert statuses(load_landing(warehouse, landing))[-1] == (
        "harvest/time_entries/p_copy2.json",
        DUPLICATE,
    )


def test_a_harvest_page_with_a_byte_order_mark_loads(landing, warehouse):
    drop(landing, "harvest/time_entries/p.json", "\ufeff" + harvest_page(entry(1), entry(2)))

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_loaded) for o in report.files] == [(LOADED, 2)]


# --- values read strictly -------------------------------------------------------------------


def test_timestamps_keep_their_offsets_converted_to_utc(landing, warehouse):
    late = entry(1).as_json()
    late.update(submitted_at="2026-03-04T10:00:00Z", approved_at="2026-03-04T09:30:00-08:00")
    early = entry(2).as_json()
    early.update(submitted_at="2026-03-04T10:00:00+0000", approved_at="2026-03-04T11:15:00+01:00")
    drop(landing, "harvest/time_entries/p.json", json.dumps(page([late, early])))

    load_landing(warehouse, landing)

    assert warehouse.execute(
        "SELECT id, submitted_at, approved_at FROM raw.harvest__time_entries ORDER BY id"
    ).fetchall() == [
        (1, datetime(2026, 3, 4, 10, 0), datetime(2026, 3, 4, 17, 30)),
        (2, datetime(2026, 3, 4, 10, 0), datetime(2026, 3, 4, 10, 15)),
    ]


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("hours", "1_0.5"),
        ("id", 2400000001.7),
        ("id", "1_000"),
        ("spent_date", "infinity"),
        ("created_at", "epoch"),
    ],
)
def test_numbers_ids_and_dates_are_read_strictly(field, text, landing, warehouse):
    bad = entry(2).as_json()
    bad[field] = text
    drop(landing, "harvest/time_entries/p.json", json.dumps(page([entry(1).as_json(), bad])))

    report = load_landing(warehouse, landing)

    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 1, 1)
    assert warehouse.execute("SELECT reason FROM quarantine.rejected_rows").fetchall() == [
        ("invalid_type",)
    ]
    assert warehouse.execute("SELECT id FROM raw.harvest__time_entries").fetchall() == [(1,)]
    assert_rows_balance(warehouse)


def test_currency_codes_are_normalised_and_unknown_codes_load_as_read(landing, warehouse):
    entries = []
    for id_, currency in [(1, "eur"), (2, " XXQ "), (3, "euro"), (4, "€")]:
        record = entry(id_).as_json()
        record["client"]["currency"] = currency
        entries.append(record)
    drop(landing, "harvest/time_entries/p.json", json.dumps(page(entries)))

    report = load_landing(warehouse, landing)

    # `eur` is the euro; `XXQ` has a code's shape (whether it exists is a value rule, raised
    # downstream); `euro` and `€` are no currency code at all.
    assert warehouse.execute(
        "SELECT id, client_currency FROM raw.harvest__time_entries ORDER BY id"
    ).fetchall() == [(1, "EUR"), (2, "XXQ")]
    assert warehouse.execute(
        "SELECT row_number, reason, detail FROM quarantine.rejected_rows ORDER BY 1"
    ).fetchall() == [
        (3, "invalid_type", "client.currency is not a valid currency code (ISO 4217): euro"),
        (4, "invalid_type", "client.currency is not a valid currency code (ISO 4217): €"),
    ]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (4, 2, 2)


# --- Harvest export completeness ------------------------------------------------------------


def export_page(number: int, entries: list[Entry], total_pages: int, total_entries: int) -> str:
    document = page([e.as_json() for e in entries], number=number, total_pages=total_pages)
    document["total_entries"] = total_entries
    return json.dumps(document)


RUN = "harvest/time_entries/time_entries_updated_2026-03-04_page_{:04d}.json"


def test_an_export_missing_a_page_is_held_until_it_is_complete(landing, warehouse):
    pages = {n: [entry(2 * n - 1), entry(2 * n)] for n in (1, 2, 3)}
    for n in (1, 3):
        drop(landing, RUN.format(n), export_page(n, pages[n], total_pages=3, total_entries=6))
    drop(landing, "harvest/time_entries/other_page_0001.json", export_page(1, [entry(9)], 1, 1))

    first = load_landing(warehouse, landing)

    outcomes = {o.relative_path: o for o in first.files}
    for n in (1, 3):
        outcome = outcomes[RUN.format(n)]
        assert (outcome.status, outcome.reason) == (REJECTED, "incomplete_export")
        assert "page(s) 1, 3 of 3 present, missing 2" in outcome.detail
    assert outcomes["harvest/time_entries/other_page_0001.json"].status == LOADED
    assert [row[0] for row in harvest_rows(warehouse)] == [9]
    # Nothing new for the run: the held pages stay as they are.
    assert {o.status for o in load_landing(warehouse, landing).files} == {UNCHANGED}

    drop(landing, RUN.format(2), export_page(2, pages[2], total_pages=3, total_entries=6))
    complete = load_landing(warehouse, landing)

    assert sorted((o.relative_path, o.status) for o in complete.files) == [
        ("harvest/time_entries/other_page_0001.json", UNCHANGED),
        *((RUN.format(n), LOADED) for n in (1, 2, 3)),
    ]
    assert [row[0] for row in harvest_rows(warehouse)] == [1, 2, 3, 4, 5, 6, 9]
    assert_rows_balance(warehouse)


def test_an_export_whose_entries_do_not_add_up_is_not_loaded(landing, warehouse):
    drop(landing, RUN.format(1), export_page(1, [entry(1), entry(2)], 2, 5))
    drop(landing, RUN.format(2), export_page(2, [entry(3)], 2, 5))

    report = load_landing(warehouse, landing)

    assert {(o.status, o.reason) for o in report.files} == {(REJECTED, "incomplete_export")}
    assert "hold 3 entries, total_entries says 5" in report.files[0].detail
    assert harvest_rows(warehouse) == []


def test_a_new_version_of_one_page_of_a_loaded_export_loads(landing, warehouse):
    drop(landing, RUN.format(1), export_page(1, [entry(1)], 2, 2))
    drop(landing, RUN.format(2), export_page(2, [entry(2)], 2, 2))
    load_landing(warehouse, landing)

    drop(landing, RUN.format(2), export_page(2, [entry(2, hours=1.0)], 2, 2))
    report = load_landing(warehouse, landing)

    assert [o.status for o in report.files] == [UNCHANGED, LOADED]
    assert [row[:2] for row in harvest_rows(warehouse)] == [(1, 7.5), (2, 1.0)]


# --- SAE: Posted Amount against the journal lines --------------------------------------------


def sae_line(sequence: int, entry_id: int, journal: str, posted: str, journal_key: int) -> str:
    """A DETAIL line of ``entry_id`` with its own journal amount and key, and a Posted Amount."""
    fields = sae_detail(sequence, entry_id, journal).split("|")
    fields[sae_position("report_entry_posted_amount") - 1] = posted
    fields[sae_position("journal_key") - 1] = str(journal_key)
    fields[sae_position("journal_debit_or_credit") - 1] = "CR" if journal[0] == "-" else "DR"
    return "|".join(fields)


def test_sae_lines_that_do_not_add_up_to_the_posted_amount_are_rejected(landing, warehouse):
    lines = [
        sae_line(1, 1001, "120.5000", "120.5000", 5001),  # one line: its own amount
        sae_line(2, 1002, "17.8700", "35.7500", 5002),  # allocated 50/50: 17.87 + 17.88
        sae_line(3, 1002, "17.8800", "35.7500", 5003),
        sae_line(4, 1003, "-45.0000", "-45.0000", 5004),  # a refund
        sae_line(5, 1004, "100.0000", "100.0000", 5005),  # a debit and its offsetting credit
        sae_line(6, 1004, "-100.0000", "100.0000", 5006),
        sae_line(7, 1005, "17.8700", "35.7500", 5007),  # half of an allocation is missing
        sae_line(8, 1005, "10.0000", "35.7500", 5008),
        sae_line(9, 1006, "1_0.5", "10.5000", 5009),  # not a number: rejected as such
        sae_line(10, 1007, "12.0000", "21.0000", 5010),  # 12 posted as 21
        sae_line(11, 1008, "5.0000", "5.0000", 5011),  # lines repeating two Posted Amounts
        sae_line(12, 1008, "5.0000", "10.0000", 5012),
    ]
    drop(landing, "concur/expenses/e.txt", sae_file(lines, total="161.1200"))

    report = load_landing(warehouse, landing)

    assert warehouse.execute(
        "SELECT row_number, reason, detail FROM quarantine.rejected_rows ORDER BY 1"
    ).fetchall() == [
        (7, "posted_amount_mismatch", "Report Entry Id 1005: Posted Amount 35.7500 but its "
         "Journal Amounts sum to 27.87"),
        (8, "posted_amount_mismatch", "Report Entry Id 1005: Posted Amount 35.7500 but its "
         "Journal Amounts sum to 27.87"),
        (9, "invalid_type", "Report Entry Transaction Amount is not a valid decimal(31, 8): 1_0.5"),
        (10, "posted_amount_mismatch", "Report Entry Id 1007: Posted Amount 21.0000 but its "
         "Journal Amounts sum to 12.0"),
        (11, "posted_amount_mismatch", "Report Entry Id 1008: its lines repeat different "
         "Posted Amounts"),
        (12, "posted_amount_mismatch", "Report Entry Id 1008: its lines repeat different "
         "Posted Amounts"),
    ]  # fmt: skip
    assert warehouse.execute(
        "SELECT DISTINCT report_entry_id FROM raw.concur__expenses ORDER BY 1"
    ).fetchall() == [(1001,), (1002,), (1003,), (1004,)]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (12, 6, 6)
    assert_rows_balance(warehouse)


# --- conflicting versions -------------------------------------------------------------------


def test_a_version_contradicting_one_in_another_file_is_flagged_not_last_load_wins(
    landing, warehouse
):
    drop(landing, "harvest/time_entries/a.json", harvest_page(entry(1), entry(2), entry(3)))
    # Entry 1 again, same updated_at, other hours (in the same pass: the file sorting first
    # is kept); entry 2 again unchanged (an overlapping export); entry 3 at a later version.
    later = Entry(3, date(2026, 3, 2), 2.0, updated_at=datetime(2026, 3, 5, 8, 0))
    drop(landing, "harvest/time_entries/b.json", harvest_page(entry(1, hours=3.0), entry(2), later))

    report = load_landing(warehouse, landing)
    # A later file contradicting what is loaded: the same.
    drop(landing, "harvest/time_entries/c.json", harvest_page(entry(2, hours=1.0)))
    again = load_landing(warehouse, landing)

    assert warehouse.execute(
        "SELECT _source_file, id, hours::DOUBLE FROM raw.harvest__time_entries ORDER BY 2, 1"
    ).fetchall() == [
        ("harvest/time_entries/a.json", 1, 7.5),
        ("harvest/time_entries/a.json", 2, 7.5),
        ("harvest/time_entries/b.json", 2, 7.5),
        ("harvest/time_entries/a.json", 3, 7.5),
        ("harvest/time_entries/b.json", 3, 2.0),
    ]
    assert warehouse.execute(
        "SELECT source_file, row_number, reason, detail, payload ->> '$.hours' "
        "FROM quarantine.rejected_rows ORDER BY 1"
    ).fetchall() == [
        (
            "harvest/time_entries/b.json",
            1,
            "conflicting_version",
            "another version with the same id, updated_at (1, 2026-03-04 09:30:00) and other "
            "content is in harvest/time_entries/a.json",
            "3.0",
        ),
        (
            "harvest/time_entries/c.json",
            1,
            "conflicting_version",
            "another version with the same id, updated_at (2, 2026-03-04 09:30:00) and other "
            "content is in harvest/time_entries/a.json",
            "1.0",
        ),
    ]
    assert [(o.rows_read, o.rows_loaded, o.rows_rejected) for o in report.files] == [
        (3, 3, 0),
        (3, 2, 1),
    ]
    assert [(o.rows_read, o.rows_loaded, o.rows_rejected) for o in again.files][-1] == (1, 0, 1)
    assert_rows_balance(warehouse)
