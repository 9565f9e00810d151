"""Never bill a record twice: the re-sync of what the ERP bills, the record-level exclusion of
candidates, the durable billing store and its mirror (hand-written rows, file-drop ERP)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from erp import outbox
from erp.adapters.base import TransientErpError
from erp.adapters.filedrop import COLUMNS_V1, FORMAT, FORMAT_V1, FileDropAdapter, parse
from erp.billing_store import BILLING_TABLES, mirror_to_warehouse, open_store
from erp.candidates import batches_from_rows
from erp.keys import line_note, parse_line_note
from erp.outbox.resync import read_erp_billed


def record(cid: str, hours: str | None = None, amount: str | None = None) -> dict:
    """One candidate record of client C1's March: labour at 150/h, or an expense."""
    labour = hours is not None
    return {
        "period": "2026-03",
        "client_ref": "C1",
        "client_name": "Client One",
        "contract_ref": "K1",
        "legal_entity": "US01",
        "currency": "USD",
        "invoice_date": date(2026, 3, 31),
        "payment_terms": "Net 30",
        "line_kind": "labour" if labour else "expense",
        "line_category": "Consulting" if labour else "Travel",
        "line_description": "Consultant - Atlas - March" if labour else "Travel - March",
        "unit_price": Decimal("150") if labour else None,
        "tax_code": "US-EXEMPT",
        "tax_rate": Decimal("0"),
        "correlation_id": cid,
        "quantity": Decimal(hours) if labour else None,
        "amount": None if labour else Decimal(amount),
    }


#: March as first billed: two hours entries and an expense.
FIRST = [record("te-1", hours="3"), record("te-2", hours="1"), record("ex-1", amount="97.47")]
#: Approved late, after March was billed: one more hour on the same line.
LATE = record("te-3", hours="1")


@pytest.fixture
def erp(tmp_path) -> FileDropAdapter:
    return FileDropAdapter(tmp_path / "filedrop")


def bill(con, erp, rows, run_id):
    """Freeze and send ``rows`` grouped into batches, as a billing run would."""
    frozen = outbox.freeze(con, batches_from_rows(rows), run_id)
    outbox.send(con, erp, run_id)
    return frozen


def erp_lines_per_record(erp: FileDropAdapter) -> dict[str, int]:
    counts: dict[str, int] = {}
    for invoice in erp.read_invoices(None):
        for line in invoice.lines:
            for cid in line.correlation_ids:
                counts[cid] = counts.get(cid, 0) + 1
    return counts


def test_a_line_note_carries_the_line_key_and_its_records():
    note = line_note("l_abc", ["te-2", "te-1"])

    assert note == "l_abc\nrecords: te-1 te-2"
    assert parse_line_note(note) == ("l_abc", ("te-1", "te-2"))
    assert parse_line_note("l_abc") == ("l_abc", ())  # an invoice written before the ids
    assert parse_line_note("  ") == (None, ())


def test_the_erp_file_carries_the_records_of_each_line(erp):
    (batch,) = batches_from_rows(FIRST)
    erp.create_if_absent([batch])

    (invoice,) = erp.read_invoices(None)

    assert {line.line_key: line.correlation_ids for line in invoice.lines} == {
        line.line_key: line.correlation_ids for line in batch.lines
    }
    assert sorted(erp_lines_per_record(erp)) == ["ex-1", "te-1", "te-2"]


def test_a_file_in_the_previous_format_still_reads(erp):
    (batch,) = batches_from_rows(FIRST)
    control, *rows = erp.render(batch).decode().split("\r\n")[:-1]
    rows = [row.rsplit(",", 1)[0] for row in rows]  # without the correlation_ids column
    old = "\r\n".join([control.replace(FORMAT, FORMAT_V1), *rows]) + "\r\n"
    assert rows[0] == ",".join(COLUMNS_V1)

    parsed = parse(old.encode(), f"{batch.batch_key}.csv")

    assert parsed.invoice.state != "invalid", parsed.problems
    assert [line.correlation_ids for line in parsed.invoice.lines] == [(), ()]


def test_resync_reads_every_record_the_erp_bills_into_the_store(erp):
    con = duckdb.connect()
    bill(con, erp, FIRST, "run-1")
    lost = duckdb.connect()  # a new, empty billing store: the old one is lost

    synced = outbox.resync(lost, erp, "run-2")

    assert (synced.invoices, synced.records) == (1, 3)
    rows = lost.execute(
        "SELECT correlation_id, batch_key FROM ops.erp_billed_records ORDER BY 1"
    ).fetchall()
    (key,) = {b.batch_key for b in batches_from_rows(FIRST)}
    assert rows == [("ex-1", key), ("te-1", key), ("te-2", key)]
    assert outbox.resync(lost, erp, "run-3").records == 3  # replaced, not appended
    assert lost.execute("SELECT count(*) FROM ops.erp_billed_records").fetchone() == (3,)


def test_candidates_the_erp_or_the_outbox_bills_are_left_out_record_by_record(erp):
    con = duckdb.connect()
    bill(con, erp, FIRST[:2], "run-1")  # te-1, te-2 on an ERP invoice
    outbox.freeze(con, batches_from_rows([record("ex-1", amount="97.47")]), "run-1")  # not sent
    outbox.resync(con, erp, "run-2")

    kept, excluded = outbox.split_billed(con, [*FIRST, LATE])

    assert [r["correlation_id"] for r in kept] == ["te-3"]
    assert {row["correlation_id"]: billed.source for row, billed in excluded} == {
        "te-1": "erp",
        "te-2": "erp",
        "ex-1": "outbox",
    }
    (late,) = batches_from_rows(kept)
    assert [(line.quantity, line.correlation_ids) for line in late.lines] == [
        (Decimal(1), ("te-3",))
    ]


def test_a_lost_store_never_bills_a_record_twice(erp):
    con = duckdb.connect()
    bill(con, erp, FIRST, "run-1")
    lost = duckdb.connect()
    outbox.resync(lost, erp, "run-2")

    # The candidates as a rebuilt warehouse offers them: March again, plus the late hour.
    kept, excluded = outbox.split_billed(lost, [*FIRST, LATE])
    bill(lost, erp, kept, "run-2")

    assert len(excluded) == 3
    assert erp_lines_per_record(erp) == {"te-1": 1, "te-2": 1, "ex-1": 1, "te-3": 1}


def test_freeze_rejects_a_batch_billing_a_record_of_another_erp_invoice(erp):
    con = duckdb.connect()
    (first,) = batches_from_rows(FIRST)
    bill(con, erp, FIRST, "run-1")
    lost = duckdb.connect()
    outbox.resync(lost, erp, "run-2")
    (regrouped,) = batches_from_rows([*FIRST, LATE])  # the mart without the exclusion

    result = outbox.freeze(lost, [regrouped, first], "run-2")
    sent = outbox.send(lost, erp, "run-2")

    assert regrouped.batch_key in result.rejected
    assert "already billed by ERP invoice" in result.rejected[regrouped.batch_key]
    # The very batch the ERP holds is frozen again and adopted, never created twice.
    assert result.frozen == [first.batch_key] and sent.adopted == [first.batch_key]
    assert erp_lines_per_record(erp) == {"te-1": 1, "te-2": 1, "ex-1": 1}


def test_the_dry_run_shows_the_records_left_out(erp):
    con = duckdb.connect()
    bill(con, erp, FIRST, "run-1")
    warehouse = duckdb.connect()  # rebuilt: no outbox, and nothing written by the plan

    kept, excluded = outbox.split_billed(warehouse, [*FIRST, LATE], read_erp_billed(erp))
    items = outbox.plan(warehouse, erp, batches_from_rows(kept), excluded)

    actions = sorted((i.action, i.reason.split(" already")[0]) for i in items)
    assert actions == [
        ("exclude", "record ex-1"),
        ("exclude", "record te-1"),
        ("exclude", "record te-2"),
        ("freeze_and_create", "new batch"),
    ]
    te1 = next(i for i in items if "te-1" in i.reason)
    assert te1.amount == "450" and te1.batch_key == batches_from_rows(FIRST)[0].batch_key
    assert "ERP invoice" in te1.reason
    assert warehouse.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)


def test_the_store_takes_over_a_warehouse_outbox_once_and_mirrors_it_back(tmp_path, erp):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        bill(con, erp, FIRST, "run-1")
        outbox.read_back(con, erp, "run-1")
        before = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in BILLING_TABLES[:4]
        }
    store = tmp_path / "billing" / "billing.duckdb"

    for _ in range(2):  # the second opening copies nothing again
        with open_store(store, warehouse) as con:
            after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
            assert after == before
    warehouse.unlink()  # the warehouse is rebuildable: the store keeps the billing state
    with open_store(store, warehouse) as con:
        bill(con, erp, [LATE], "run-2")
        outbox.read_back(con, erp, "run-2")

    mirror_to_warehouse(store, warehouse)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.erp_outbox").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM raw.erp_api__invoices").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM ops.audit_log").fetchone() == (
            before["ops.audit_log"] * 2,
        )


def test_readers_of_the_warehouse_never_meet_the_store_lock(tmp_path, erp):
    store, warehouse = tmp_path / "billing.duckdb", tmp_path / "warehouse.duckdb"
    with open_store(store, warehouse) as con:
        bill(con, erp, FIRST, "run-1")
    mirror_to_warehouse(store, warehouse)
    dashboard = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('SELECT count(*) FROM ops.erp_outbox').fetchone()[0])"
    )

    with open_store(store) as writer:  # the billing run holds the store's write lock ...
        bill(writer, erp, [LATE], "run-2")
        # ... while another process reads the warehouse, as a dashboard or dbt does
        read = subprocess.run(
            [sys.executable, "-c", dashboard, str(warehouse)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    assert read.stdout.strip() == "1"


def test_sending_dead_letters_a_batch_frozen_on_a_stale_resync(erp):
    con = duckdb.connect()
    bill(con, erp, FIRST, "run-1")
    lost = duckdb.connect()  # lost store, and the ERP was unreachable when freezing
    (regrouped,) = batches_from_rows([*FIRST, LATE])
    assert outbox.freeze(lost, [regrouped], "run-2").frozen == [regrouped.batch_key]

    sent = outbox.send(lost, erp, "run-2")

    assert sent.dead_lettered == [regrouped.batch_key] and sent.created == []
    (error,) = lost.execute("SELECT last_error FROM ops.erp_outbox").fetchone()
    (first,) = erp.read_invoices(None)
    assert error == f"records already billed by ERP invoice(s) {first.document_id}"
    assert erp_lines_per_record(erp) == {"te-1": 1, "te-2": 1, "ex-1": 1}


class UnreachableErp(FileDropAdapter):
    """The file-drop ERP whose share cannot be read this time."""

    def read_invoices(self, batch_keys=None):
        raise TransientErpError("drop share unreachable")


def test_an_unreachable_erp_keeps_the_last_resync(erp, tmp_path):
    con = duckdb.connect()
    bill(con, erp, FIRST, "run-1")
    outbox.resync(con, erp, "run-1")

    kept = outbox.resync_or_keep(con, UnreachableErp(erp.root), "run-2")

    assert (kept.records, kept.error) == (3, "drop share unreachable")
    assert outbox.split_billed(con, [LATE, *FIRST])[0] == [LATE]
