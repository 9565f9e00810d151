"""A SAP Concur Standard Accounting Extract written from Concur's published layout.

The fixture (tests/fixtures/concur/) was written by hand from the vendor's field list
(docs/sources.md, concur/expenses), not by the generator: an EXTRACT record
(``EXTRACT|2025-11-28|6|123.2500|42``) and six DETAIL records of 400 fields:

====  =========  ===========  ====  ==========  ===========================================
row   entry id   journal key  D/C   amount      what
====  =========  ===========  ====  ==========  ===========================================
1     1001       5001         DR    +120.5000   a regular entry (default 100 % allocation)
2     1002       5002         DR    +17.8700    entry 1002 allocated 50 % to P-10001
3     1002       5003         DR    +17.8800    entry 1002 allocated 50 % to P-10002
4     1003       5004         CR    -45.0000    a refund (credit)
5     1004       5005         DR    +12.0000    a personal charge on the company card
6     –          –            –     –           a record cut short after 60 fields
====  =========  ===========  ====  ==========  ===========================================

120.50 + 17.87 + 17.88 - 45.00 + 12.00 = 123.25, the EXTRACT total; row 6 has no amount.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.loader import LOADED, REJECTED, load_landing
from ingest.warehouse import connect

FIXTURE = (
    Path(__file__).parent
    / "fixtures"
    / "concur"
    / "extract_CES_SAE_v3_p0000000test_20251128200000.txt"
)
TARGET = "concur/expenses/" + FIXTURE.name


@pytest.fixture
def warehouse(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        yield con


def land(tmp_path: Path, content: str | None = None) -> Path:
    landing = tmp_path / "landing"
    path = landing / TARGET
    path.parent.mkdir(parents=True)
    if content is None:
        shutil.copy(FIXTURE, path)
    else:
        path.write_text(content, encoding="utf-8")
    return landing


def test_every_journal_line_loads_signed_and_adds_up_to_the_extract(tmp_path, warehouse):
    report = load_landing(warehouse, land(tmp_path))

    (outcome,) = report.files
    assert outcome.status == LOADED
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == (6, 5, 1)
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_rejected
    header = FIXTURE.read_text(encoding="utf-8").splitlines()[0].split("|")
    ((total, rows, keys),) = warehouse.execute(
        "SELECT sum(journal_amount), count(*), "
        "count(DISTINCT (report_entry_id, journal_key, allocation_key)) "
        "FROM raw.concur__expenses"
    ).fetchall()
    assert total == Decimal(header[3]) == Decimal("123.25")
    assert rows == keys == 5


def test_allocations_credits_and_personal_lines_keep_their_meaning(tmp_path, warehouse):
    load_landing(warehouse, land(tmp_path))

    lines = warehouse.execute(
        "SELECT report_entry_id, journal_key, journal_debit_or_credit, journal_amount, "
        "allocation_percentage, allocation_project, report_entry_project, "
        "report_entry_is_personal FROM raw.concur__expenses ORDER BY _row_number"
    ).fetchall()
    assert lines == [
        (1001, 5001, "DR", Decimal("120.5"), Decimal("100"), None, "P-10001", False),
        (1002, 5002, "DR", Decimal("17.87"), Decimal("50"), "P-10001", "P-10001", False),
        (1002, 5003, "DR", Decimal("17.88"), Decimal("50"), "P-10002", "P-10001", False),
        (1003, 5004, "CR", Decimal("-45"), Decimal("100"), None, "P-10001", False),
        (1004, 5005, "DR", Decimal("12"), Decimal("100"), None, None, True),
    ]
    # the entry amounts repeat on both allocation lines; the journal amounts split them
    assert warehouse.execute(
        "SELECT DISTINCT report_entry_posted_amount FROM raw.concur__expenses "
        "WHERE report_entry_id = 1002"
    ).fetchall() == [(Decimal("35.75"),)]
    # the fields the tenant map does not read are kept by position
    assert warehouse.execute(
        "SELECT _extra ->> '$.\"127\"', _extra ->> '$.\"163\"' FROM raw.concur__expenses "
        "WHERE report_entry_id = 1004"
    ).fetchall() == [("Company Billed Company Paid", "Employee")]
    assert warehouse.execute(
        "SELECT row_number, reason, detail FROM quarantine.rejected_rows"
    ).fetchall() == [(6, "unexpected_record_type", "expected 400 fields, found 60")]


def test_a_broken_control_total_rejects_the_file(tmp_path, warehouse):
    content = FIXTURE.read_text(encoding="utf-8").replace(
        "EXTRACT|2025-11-28|6|123.2500|42", "EXTRACT|2025-11-28|6|168.2500|42"
    )

    report = load_landing(warehouse, land(tmp_path, content))

    (outcome,) = report.files
    assert (outcome.status, outcome.reason) == (REJECTED, "control_total_mismatch")
    assert "168.2500" in outcome.detail and "123.25" in outcome.detail
    assert warehouse.execute("SELECT count(*) FROM raw.concur__expenses").fetchall() == [(0,)]
