"""Every source format: bad input ends in quarantine with a specific reason, never a crash.

Each case writes a small file in the format of docs/sources.md, loads the landing zone and
checks the outcome and the invariant rows read = rows loaded + rows rejected.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.loader import DUPLICATE, LOADED, REJECTED, load_landing
from ingest.sources import SOURCE_ENTITIES
from ingest.sources.concur import sae_detail_record, sae_position
from ingest.warehouse import connect

WORKERS_HEADER = (
    "employee_id,first_name,last_name,email,role,practice,region,legal_entity,cost_center,"
    "cost_rate,cost_rate_currency,weekly_capacity_hours,employment_type,hire_date,"
    "termination_date,updated_at"
)
WORKER = (
    "E100001,Amara,Bell,amara.bell@d2b.example,Analyst,Technology,APAC,SG01,SG01-TEC,77.00,"
    "SGD,40.00,full_time,2016-09-13,,2025-11-22T01:00:00Z"
)
TOGGL_HEADER = (
    "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,"
    "End time,Duration,Tags,Amount (EUR),Time entry ID,Approval status,Submitted at,"
    "Approved at,Updated at"
)


def toggl_row(entry_id: int, duration: str = "03:45:00") -> str:
    return (
        f"Zoe Bell,zoe.bell@northwind.example,Massive N.V.,P-10029 Finance Transformation,"
        f"Advisory,Advisory call,Yes,2025-11-24,09:00:00,2025-11-24,12:45:00,{duration},,"
        f"1125.00,{entry_id},approved,2025-12-01T13:26:36Z,2025-12-03T13:27:00Z,"
        "2025-12-03T13:27:00Z"
    )


def sae_detail(sequence: int, entry_id: int, amount: str) -> str:
    side = "CR" if amount.startswith("-") else "DR"
    return sae_detail_record(
        {
            "constant": "DETAIL",
            "batch_id": "7000",
            "batch_date": "2025-11-28",
            "sequence_number": str(sequence),
            "employee_id": "E100095",
            "employee_last_name": "Hughes",
            "employee_first_name": "Grace",
            "employee_group_id": "DEFAULT",
            "employee_org_unit_1": "NL01",
            "employee_org_unit_2": "NL01-STR",
            "employee_org_unit_3": "EU",
            "report_id": "84AD596EB0333B0DE6EC",
            "report_key": "501956",
            "reimbursement_currency": "EUR",
            "report_submit_date": "2025-11-26",
            "report_payment_processing_date": "2025-11-26",
            "report_name": "AI Readiness - Nov 2025",
            "report_entry_id": str(entry_id),
            "report_entry_transaction_type": "REG",
            "report_entry_expense_type_name": "Meals",
            "report_entry_transaction_date": "2025-11-25",
            "report_entry_currency": "EUR",
            "report_entry_exchange_rate": "1.00000000",
            "report_entry_exchange_rate_direction": "M",
            "report_entry_is_personal": "N",
            "report_entry_description": "Meals - AI Readiness",
            "report_entry_vendor_name": "Sushi Bar",
            "report_entry_receipt_received": "Y",
            "report_entry_transaction_amount": amount,
            "report_entry_posted_amount": amount,
            "report_entry_approved_amount": amount,
            "payment_type_code": "CASH",
            "journal_account_code": "6130",
            "journal_debit_or_credit": side,
            "journal_amount": amount,
            "journal_key": str(entry_id),
            "report_entry_city": "Utrecht",
            "report_entry_is_billable": "Y",
        }
    )


def sae_file(details: list[str], count: int | None = None, total: str | None = None) -> str:
    amount = sae_position("journal_amount") - 1
    amounts = [Decimal(d.split("|")[amount]) for d in details]
    count = len(details) if count is None else count
    total = f"{sum(amounts, Decimal(0)):.2f}" if total is None else total
    return "\n".join([f"EXTRACT|2025-11-28|{count}|{total}|7000", *details]) + "\n"


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        yield con


def drop(landing: Path, relative: str, content: str | bytes) -> None:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def assert_invariant(con) -> None:
    """rows read = raw rows + rejected rows, for every loaded file (docs/design.md §2)."""
    for (system, entity), source in SOURCE_ENTITIES.items():
        table = f"raw.{source.schema.raw_table}"
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = ?",
            [source.schema.raw_table],
        ).fetchall()[0][0]
        raw_counts = (
            f"(SELECT _load_id AS load_id, count(*) AS n FROM {table} GROUP BY 1)"
            if exists
            else "(SELECT NULL::VARCHAR AS load_id, 0 AS n WHERE false)"
        )
        bad = con.execute(
            f"""
            SELECT f.source_file FROM ops.landed_files AS f
            LEFT JOIN {raw_counts} AS r USING (load_id)
            LEFT JOIN (SELECT load_id, count(*) AS n FROM quarantine.rejected_rows GROUP BY 1)
                AS q USING (load_id)
            WHERE f.system = ? AND f.entity = ? AND f.status = 'loaded'
              AND f.rows_read <> coalesce(r.n, 0) + coalesce(q.n, 0)
            """,
            [system, entity],
        ).fetchall()
        assert bad == [], f"{system}/{entity}: invariant broken for {bad}"


def outcome_of(report, relative: str):
    (outcome,) = [o for o in report.files if o.relative_path == relative]
    return outcome


def row_reasons(con) -> list[tuple]:
    return con.execute(
        "SELECT system, entity, row_number, reason, detail FROM quarantine.rejected_rows "
        "ORDER BY system, entity, row_number"
    ).fetchall()


FILE_CASES = {
    "truncated_json": (
        "harvest/time_entries/p1.json",
        '{"time_entries": [{"id": 1, "spent_date": "2026-03-02"',
        "unparseable",
        "Malformed JSON",
    ),
    "empty_file": ("hris/workers/workers_2026-01-01.csv", "", "empty_file", "is empty"),
    "header_only_snapshot": (
        "hris/workers/workers_2026-01-01.csv",
        WORKERS_HEADER + "\n",
        "no_data_rows",
        "would erase the current state",
    ),
    "latin1_bytes": (
        "hris/workers/workers_2026-01-01.csv",
        (WORKERS_HEADER + "\n" + WORKER.replace("Amara", "Am\xe9ra") + "\n").encode("latin-1"),
        "invalid_encoding",
        "byte 0xe9 on line 2",
    ),
    "wrong_delimiter": (
        "hris/workers/workers_2026-01-01.csv",
        WORKERS_HEADER.replace(",", ";") + "\n" + WORKER.replace(",", ";") + "\n",
        "wrong_delimiter",
        "the header uses ';'",
    ),
    "missing_required_column": (
        "hris/workers/workers_2026-01-01.csv",
        WORKERS_HEADER.replace(",email", "") + "\n" + WORKER.replace(",amara.bell@d2b.example", ""),
        "missing_required_column",
        "missing required column(s): email",
    ),
    "sae_control_total_mismatch": (
        "concur/expenses/extract_1.txt",
        sae_file([sae_detail(1, 3000001, "26.57"), sae_detail(2, 3000002, "10.00")], total="99.99"),
        "control_total_mismatch",
        "EXTRACT row says 2 DETAIL rows totalling 99.99; the file has 2 totalling 36.57",
    ),
    "sae_record_count_mismatch": (
        "concur/expenses/extract_1.txt",
        sae_file([sae_detail(1, 3000001, "26.57")], count=3),
        "control_total_mismatch",
        "says 3 DETAIL rows",
    ),
    "sae_without_extract_row": (
        "concur/expenses/extract_1.txt",
        sae_detail(1, 3000001, "26.57") + "\n",
        "unexpected_structure",
        "not an EXTRACT row",
    ),
    "json_without_list": (
        "harvest/time_entries/p1.json",
        json.dumps({"page": 1, "entries": []}),
        "unexpected_structure",
        "expected an array at key 'time_entries', found missing",
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_unreadable_files_are_rejected_whole_with_a_reason(case, landing, warehouse):
    relative, content, reason, detail = FILE_CASES[case]
    drop(landing, relative, content)

    report = load_landing(warehouse, landing)

    outcome = outcome_of(report, relative)
    assert (outcome.status, outcome.reason) == (REJECTED, reason)
    assert detail in outcome.detail
    stored = warehouse.execute(
        "SELECT source_file, reason, detail FROM quarantine.rejected_files"
    ).fetchall()
    assert stored == [(relative, reason, outcome.detail)]
    # Nothing of the file reached raw, and loading again changes nothing.
    assert report.rows_loaded == 0
    again = load_landing(warehouse, landing)
    assert [o.status for o in again.files] == ["unchanged"]


def test_one_bad_file_does_not_block_the_others_of_its_batch(landing, warehouse):
    for day in range(1, 6):
        body = toggl_row(3600000000 + day)
        drop(landing, f"toggl/time_entries/t{day}.csv", f"{TOGGL_HEADER}\n{body}\n")
    drop(landing, "toggl/time_entries/t3.csv", b"User;Email\nx;y\n")

    report = load_landing(warehouse, landing)

    assert [(o.relative_path[-6:], o.status) for o in report.files] == [
        ("t1.csv", LOADED),
        ("t2.csv", LOADED),
        ("t3.csv", REJECTED),
        ("t4.csv", LOADED),
        ("t5.csv", LOADED),
    ]
    assert warehouse.execute("SELECT count(*) FROM raw.toggl__time_entries").fetchall() == [(4,)]
    assert_invariant(warehouse)


def test_header_only_incremental_csv_is_an_empty_load(landing, warehouse):
    drop(landing, "toggl/time_entries/t.csv", TOGGL_HEADER + "\n")

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_read) for o in report.files] == [(LOADED, 0)]
    assert_invariant(warehouse)


def test_utf8_bom_is_accepted(landing, warehouse):
    drop(landing, "hris/workers/w.csv", ("\ufeff" + WORKERS_HEADER + "\n" + WORKER + "\n"))

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_loaded) for o in report.files] == [(LOADED, 1)]
    assert warehouse.execute(
        "SELECT employee_id, hire_date::VARCHAR FROM raw.hris__workers"
    ).fetchall() == [("E100001", "2016-09-13")]


def test_bad_rows_of_csv_and_sae_files_get_specific_reasons(landing, warehouse):
    impossible = WORKER.replace("2016-09-13", "2016-02-30")
    other_worker = WORKER.replace("E100001", "E100002")
    conflicting = WORKER.replace("Amara", "Amy")
    drop(
        landing,
        "hris/workers/w.csv",
        "\n".join(
            [
                WORKERS_HEADER,
                WORKER,
                impossible.replace("E100001", "E100003"),
                WORKER,
                conflicting,
                other_worker,
            ]
        )
        + "\n",
    )
    drop(
        landing,
        "toggl/time_entries/t.csv",
        f"{TOGGL_HEADER}\n{toggl_row(1)}\n{toggl_row(2, duration='seven hours')}\n",
    )
    drop(
        landing,
        "concur/expenses/x.txt",
        sae_file(
            [
                sae_detail(1, 3000001, "26.57"),
                # a credit and a large amount load: value rules make exceptions, not rejects
                sae_detail(2, 3000002, "-10.00"),
                sae_detail(3, 3000003, "2500000.00"),
                sae_detail(4, 3000001, "30.00"),
                sae_detail(5, 3000005, "5.00").replace("2025-11-25", "2025-11-31"),
            ]
        ),
    )

    report = load_landing(warehouse, landing)

    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (12, 6, 6)
    assert row_reasons(warehouse) == [
        (
            "concur",
            "expenses",
            4,
            "duplicate_key",
            "Report Entry Id, Journal Key, Allocation Key already used by row 1",
        ),
        (
            "concur",
            "expenses",
            5,
            "invalid_type",
            "Report Entry Transaction Date is not a valid date: 2025-11-31",
        ),
        ("hris", "workers", 2, "invalid_type", "hire_date is not a valid date: 2016-02-30"),
        ("hris", "workers", 3, "duplicate_row", "same row as row 1 (employee_id)"),
        ("hris", "workers", 4, "duplicate_key", "employee_id already used by row 1"),
        (
            "toggl",
            "time_entries",
            2,
            "invalid_type",
            "Duration is not a valid interval: seven hours",
        ),
    ]
    payload = warehouse.execute(
        "SELECT payload ->> '$.first_name' FROM quarantine.rejected_rows "
        "WHERE reason = 'duplicate_key' AND system = 'hris'"
    ).fetchall()
    assert payload == [("Amy",)]
    # an SAE payload keeps every non-empty field by its position
    sae_payload = warehouse.execute(
        "SELECT payload ->> '$.\"169\"' FROM quarantine.rejected_rows "
        "WHERE reason = 'duplicate_key' AND system = 'concur'"
    ).fetchall()
    assert sae_payload == [("30.00",)]
    assert_invariant(warehouse)


def test_credit_lines_and_unknown_codes_load_as_read(landing, warehouse):
    """Value rules are not load rules (docs/design.md §2): a credit memo's negative lines load
    signed and a code outside the documented set loads, for the dbt models to judge."""
    drop(
        landing,
        "erp/invoice_lines/l.csv",
        "line_id,invoice_internal_id,quantity,rate,amount,tax_rate,custcol_line_kind\n"
        "1,900,-4.00,150.00,-600.00,20.0000,labour\n"
        "2,900,1.00,,-35.50,,travel\n",
    )
    drop(landing, "hris/workers/w.csv", f"{WORKERS_HEADER}\n{WORKER.replace('40.00', '90.00')}\n")

    report = load_landing(warehouse, landing)

    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 3, 0)
    lines = warehouse.execute(
        "SELECT line_id, quantity, amount, custcol_line_kind FROM raw.erp__invoice_lines "
        "ORDER BY line_id"
    ).fetchall()
    assert [(i, float(q), float(a), k) for i, q, a, k in lines] == [
        (1, -4.0, -600.0, "labour"),
        (2, 1.0, -35.5, "travel"),
    ]
    capacity = warehouse.execute("SELECT weekly_capacity_hours FROM raw.hris__workers").fetchall()
    assert [float(c) for (c,) in capacity] == [90.0]
    assert_invariant(warehouse)


def test_an_extra_column_is_kept_and_every_row_loads(landing, warehouse):
    drop(
        landing,
        "hris/workers/w.csv",
        f"{WORKERS_HEADER},badge_colour\n{WORKER},green\n",
    )

    report = load_landing(warehouse, landing)

    assert [(o.status, o.rows_loaded) for o in report.files] == [(LOADED, 1)]
    assert warehouse.execute("SELECT _extra::VARCHAR FROM raw.hris__workers").fetchall() == [
        ('{"badge_colour":"green"}',)
    ]


def test_the_same_file_twice_is_loaded_once(landing, warehouse):
    content = sae_file([sae_detail(1, 3000001, "26.57")])
    drop(landing, "concur/expenses/a.txt", content)
    drop(landing, "concur/expenses/b.txt", content)

    report = load_landing(warehouse, landing)

    assert [o.status for o in report.files] == [LOADED, DUPLICATE]
    assert warehouse.execute("SELECT count(*) FROM raw.concur__expenses").fetchall() == [(1,)]


def test_generated_firm_loads_as_its_manifest_says_and_reloads_idempotently(sample, tmp_path):
    manifest = json.loads((sample.truth_dir / "manifest.json").read_text())
    expected = {f["path"]: f for f in manifest["files"]}
    with connect(tmp_path / "w.duckdb") as con:
        report = load_landing(con, Path(sample.out_dir))
        statuses = {"load": LOADED, "reject_file": REJECTED, "skip_duplicate": DUPLICATE}
        for outcome in report.files:
            spec = expected[outcome.relative_path]
            assert outcome.status == statuses[spec["expected_outcome"]], outcome
            if outcome.status == LOADED:
                assert (outcome.rows_read, outcome.rows_rejected) == (
                    spec["rows"],
                    spec["expected_rejected_rows"],
                ), outcome.relative_path
        assert {o.relative_path for o in report.files} == set(expected)
        assert_invariant(con)

        def counts():
            return {
                table: con.execute(f"SELECT count(*) FROM raw.{table}").fetchall()[0][0]
                for (table,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'"
                ).fetchall()
            }

        before = counts()
        assert len(before) == len(SOURCE_ENTITIES)
        again = load_landing(con, Path(sample.out_dir))
        assert {o.status for o in again.files} == {"unchanged"}
        assert counts() == before
        extra = con.execute(
            "SELECT count(*), count(_extra) FROM raw.erp__invoice_lines "
            "WHERE _source_file IN (SELECT path FROM (SELECT unnest(?) AS path))",
            [[p for p in expected if "invoice_lines" in p]],
        ).fetchall()
        assert extra[0][1] > 0  # the planted extra column is kept, not dropped
