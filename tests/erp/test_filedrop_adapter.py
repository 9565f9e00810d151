"""The file-drop adapter: journal-import CSV files through the same outbox flow as Tryton.

Real files in a real folder, a real DuckDB warehouse, real child processes killed with
SIGKILL; the helpers and fixtures are the ones the Tryton tests use (``conftest.py``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal

import duckdb
import pytest

from bench.sample import sample_batches
from erp import outbox
from erp.adapters import make_adapter
from erp.adapters.base import BusinessErpError
from erp.adapters.filedrop import COLUMNS, FORMAT, FileDropAdapter, parse
from erp.outbox import NO_BACKOFF
from erp.run_billing import run_billing
from erp.settings import ErpSettings
from tests.support.flaky import FlakyAdapter

from .conftest import (
    KILL_STORY,
    REPO,
    assert_exactly_once,
    audit_events,
    billing_cli_command,
    child_env,
    erp_snapshot,
    kill_point_params,
    run_billing_cli,
    write_batches,
)


def _files(adapter: FileDropAdapter) -> dict[str, tuple[bytes, int]]:
    """Every file under the drop root with its content and modification time."""
    return {
        str(p.relative_to(adapter.root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(adapter.root.rglob("*"))
        if p.is_file()
    }


def _rows(path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _rewrite(path, edit) -> None:
    """Edit a dropped file's rows in place, as someone with access to the share could."""
    rows = _rows(path)
    edit(rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode())


def test_one_file_per_batch_with_control_totals_written_once(filedrop):
    batches = sample_batches(3, lines_per_batch=6)
    results = filedrop.create_if_absent(batches)
    assert [r.document_id for r in results] == [f"{b.batch_key}.csv" for b in batches]
    assert all(r.created and r.error is None for r in results)

    batch = batches[0]
    path = filedrop.root / f"{batch.batch_key}.csv"
    totals = batch.control_totals()
    rows = _rows(path)
    assert rows[0] == [
        "CONTROL",
        FORMAT,
        str(totals.line_count),
        str(totals.quantity),
        str(totals.amount),
        str(totals.tax_amount),
        batch.batch_key,
        batch.currency,
    ]
    assert tuple(rows[1]) == COLUMNS
    lines = [dict(zip(COLUMNS, row, strict=True)) for row in rows[2:]]
    assert [ln["line_key"] for ln in lines] == [ln.line_key for ln in batch.lines]
    assert {ln["document_ref"] for ln in lines} == {batch.batch_key}
    assert lines[0]["customer_code"] == batch.client_ref
    assert lines[0]["invoice_date"] == batch.invoice_date.isoformat()
    assert sum(Decimal(ln["amount"]) for ln in lines) == totals.amount
    assert path.read_bytes().count(b"\r\n") == len(rows)
    # Nothing left behind by the atomic write.
    assert list((filedrop.root / ".partial").iterdir()) == []

    before = _files(filedrop)
    again = filedrop.create_if_absent(batches)
    assert [r.document_id for r in again] == [r.document_id for r in results]
    assert not any(r.created for r in again)
    assert _files(filedrop) == before

    found = filedrop.find_by_key(batch.batch_key)
    assert found is not None and found.document_id == results[0].document_id
    assert found.state == "draft"
    assert filedrop.find_by_key("b_unknown") is None
    assert filedrop.find_by_key("../etc/passwd") is None


def test_read_back_recomputes_the_invoice_from_the_file(filedrop):
    batches = sample_batches(4, lines_per_batch=7)
    filedrop.create_if_absent(batches)
    invoices = {inv.batch_key: inv for inv in filedrop.read_invoices(None)}
    assert invoices.keys() == {b.batch_key for b in batches}
    for batch in batches:
        inv = invoices[batch.batch_key]
        totals = batch.control_totals()
        assert inv.state == "draft" and inv.number is None
        assert inv.party_code == batch.client_ref and inv.currency == batch.currency
        assert inv.invoice_date == batch.invoice_date
        assert inv.untaxed_amount == totals.amount and inv.tax_amount == totals.tax_amount
        assert inv.total_amount == totals.amount + totals.tax_amount
        assert [ln.line_key for ln in inv.lines] == [ln.line_key for ln in batch.lines]
        assert [ln.description for ln in inv.lines] == [ln.description for ln in batch.lines]
        assert [ln.quantity for ln in inv.lines] == [ln.quantity for ln in batch.lines]
        assert inv.lines[0].tax_codes == (batch.lines[0].tax_code,)
        assert inv.lines[0].product_code.startswith("D2B-")
    assert filedrop.read_invoices([batches[1].batch_key])[0] == invoices[batches[1].batch_key]
    assert filedrop.read_invoices(["b_unknown"]) == []


def test_parse_reports_unreadable_or_untied_files_invalid(filedrop):
    (batch,) = sample_batches(1, lines_per_batch=3)
    data = filedrop.render(batch)
    assert parse(data, "x.csv").problems == ()
    garbage = parse(b"\xff\xfe not a journal", f"{batch.batch_key}.csv")
    assert garbage.invoice.state == "invalid" and garbage.invoice.batch_key == batch.batch_key
    truncated = parse(data[: len(data) // 2], "x.csv")
    assert truncated.invoice.state == "invalid"
    assert any("does not tie" in p or "fields" in p for p in truncated.problems)


def test_read_back_survives_numbers_the_warehouse_cannot_hold(warehouse, filedrop):
    batches = sample_batches(2, lines_per_batch=3)
    run_billing(warehouse, filedrop, batches, "run-1", backoff=NO_BACKOFF)
    amount = COLUMNS.index("amount")
    for batch, value in zip(batches, ("NaN", "1e20"), strict=True):
        _rewrite(
            filedrop.root / f"{batch.batch_key}.csv",
            lambda rows, value=value: rows[2].__setitem__(amount, value),
        )
    assert outbox.read_back(warehouse, filedrop, "run-2").invoices == 2
    result = outbox.reconcile(warehouse, "run-2", filedrop.name)
    assert all("invalid" in result.mismatched[b.batch_key] for b in batches)


def test_full_run_reconciles_and_second_run_changes_nothing(warehouse, filedrop):
    batches = sample_batches(6, lines_per_batch=10)
    summary = run_billing(warehouse, filedrop, batches, "run-1", backoff=NO_BACKOFF)
    assert summary.send["created"] == 6 and summary.reconcile["reconciled"] == 6
    assert_exactly_once(warehouse, filedrop, batches)
    files, snapshot = _files(filedrop), erp_snapshot(filedrop)
    audit_before = warehouse.execute("SELECT * FROM ops.audit_log ORDER BY event_id").fetchall()

    again = run_billing(warehouse, filedrop, batches, "run-2", backoff=NO_BACKOFF)
    assert again.freeze["unchanged"] == 6 and again.send["erp_calls"] == 0
    assert _files(filedrop) == files and erp_snapshot(filedrop) == snapshot
    assert (
        warehouse.execute("SELECT * FROM ops.audit_log ORDER BY event_id").fetchall()
        == audit_before
    )
    assert audit_events(warehouse, batches[0].batch_key) == ["frozen", "sent", "reconciled"]
    (adapter_name,) = warehouse.execute(
        "SELECT DISTINCT erp_adapter FROM ops.erp_outbox"
    ).fetchone()
    assert adapter_name == "filedrop"


def test_files_the_erp_acknowledged_read_back_as_posted(warehouse, filedrop):
    batches = sample_batches(3, lines_per_batch=4)
    run_billing(warehouse, filedrop, batches, "run-1", backoff=NO_BACKOFF)
    # The ERP import books one file and moves it to acknowledged/.
    filedrop.acknowledged.mkdir()
    name = f"{batches[0].batch_key}.csv"
    (filedrop.root / name).rename(filedrop.acknowledged / name)

    # Re-sending finds it there (no second file); read back sees it posted; still tied out.
    (result,) = filedrop.create_if_absent([batches[0]])
    assert not result.created and not (filedrop.root / name).exists()
    summary = run_billing(warehouse, filedrop, batches, "run-2", backoff=NO_BACKOFF)
    assert summary.statuses == {"reconciled": 3}
    state = dict(warehouse.execute("SELECT batch_key, erp_state FROM ops.erp_outbox").fetchall())
    assert state[batches[0].batch_key] == "posted"
    assert {state[b.batch_key] for b in batches[1:]} == {"draft"}
    assert_exactly_once(warehouse, filedrop, batches)

    # A copy instead of a move is a duplicate the reconciliation flags.
    shutil.copy(filedrop.acknowledged / name, filedrop.root / name)
    outbox.read_back(warehouse, filedrop, "run-3")
    result = outbox.reconcile(warehouse, "run-3", filedrop.name)
    assert "2 ERP invoices carry this key" in result.mismatched[batches[0].batch_key]


def test_a_killed_write_leaves_no_visible_file(filedrop):
    batches = sample_batches(2, lines_per_batch=5)
    # What a writer killed mid-file leaves: a truncated temporary file, never the real name.
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    partial = filedrop.root / ".partial" / f".{batches[0].batch_key}.csv.{killed.pid}.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(filedrop.render(batches[0])[:100])
    # a write under way in a live process (this one) is left alone
    live = filedrop.root / ".partial" / f".{batches[1].batch_key}.csv.{os.getpid()}.partial"
    live.write_bytes(b"being written")
    assert filedrop.find_by_keys([b.batch_key for b in batches]) == {}
    assert filedrop.read_invoices(None) == []

    results = filedrop.create_if_absent(batches[:1])
    assert all(r.created for r in results)
    assert not partial.exists()
    assert live.read_bytes() == b"being written"
    live.unlink()
    assert all(r.created for r in filedrop.create_if_absent(batches[1:]))
    invoices = filedrop.read_invoices(None)
    assert {inv.state for inv in invoices} == {"draft"}
    assert len(invoices) == 2
    assert list(live.parent.iterdir()) == []


def test_erp_folder_unavailable_is_transient_then_recovers(tmp_path, warehouse):
    # The drop share is not mounted: its mount point is missing (here, a file in its way).
    blocker = tmp_path / "share"
    blocker.write_text("not mounted")
    adapter = FileDropAdapter(blocker / "drop")
    batches = sample_batches(2, lines_per_batch=3)
    outbox.freeze(warehouse, batches, "run-1")
    result = outbox.send(
        warehouse, adapter, "run-1", max_attempts=2, backoff=NO_BACKOFF, sleep=lambda s: None
    )
    assert sorted(result.failed_retryable) == sorted(b.batch_key for b in batches)
    (error,) = warehouse.execute("SELECT DISTINCT last_error FROM ops.erp_outbox").fetchone()
    assert "cannot write to drop folder" in error

    blocker.unlink()  # the share is back
    summary = run_billing(warehouse, adapter, batches, "run-2", backoff=NO_BACKOFF)
    assert summary.send["created"] == 2
    assert_exactly_once(warehouse, adapter, batches)
    assert audit_events(warehouse, batches[0].batch_key) == [
        "frozen",
        "transient_error",
        "transient_error",
        "sent",
        "reconciled",
    ]


def test_lost_response_is_adopted_not_written_twice(warehouse, filedrop):
    batches = sample_batches(3, lines_per_batch=4)
    outbox.freeze(warehouse, batches, "run-1")
    flaky = FlakyAdapter(filedrop, fail_before=1, lose_response=1)
    result = outbox.send(warehouse, flaky, "run-1", backoff=NO_BACKOFF, sleep=lambda s: None)
    assert result.attempts == 3
    assert sorted(result.adopted) == sorted(b.batch_key for b in batches)
    outbox.read_back(warehouse, filedrop, "run-1")
    outbox.reconcile(warehouse, "run-1", filedrop.name)
    assert_exactly_once(warehouse, filedrop, batches)


def test_business_error_dead_letters_then_replay_after_correction(tmp_path, warehouse):
    adapter = FileDropAdapter(tmp_path / "drop", tax_codes={"US-EXEMPT", "US-NY-SVC"})
    (batch,) = sample_batches(1, lines_per_batch=4)
    wrong = replace(batch, lines=tuple(replace(ln, tax_code="US-TYPO") for ln in batch.lines))
    assert wrong.batch_key == batch.batch_key
    summary = run_billing(warehouse, adapter, [wrong], "run-1", backoff=NO_BACKOFF)
    assert summary.send["dead_lettered"] == 1
    (error,) = warehouse.execute("SELECT last_error FROM ops.erp_outbox").fetchone()
    assert "US-TYPO" in error
    assert adapter.find_by_key(batch.batch_key) is None

    # Dry run: the dead letter is held.
    (item,) = outbox.plan(warehouse, adapter, [wrong])
    assert item.action == "hold"

    assert outbox.freeze(warehouse, [batch], "run-2").corrected == [batch.batch_key]
    assert outbox.replay_dead_letters(warehouse, "run-2") == [batch.batch_key]
    run_billing(warehouse, adapter, [batch], "run-2", backoff=NO_BACKOFF)
    assert_exactly_once(warehouse, adapter, [batch])
    assert audit_events(warehouse, batch.batch_key) == [
        "frozen",
        "dead_lettered",
        "payload_corrected",
        "replayed",
        "sent",
        "reconciled",
    ]


def test_line_breaks_the_import_cannot_carry_are_refused_per_batch(filedrop):
    good, other = sample_batches(2, lines_per_batch=3)
    broken = replace(
        other,
        lines=(replace(other.lines[0], description="two\nlines"), *other.lines[1:]),
    )
    results = filedrop.create_if_absent([good, broken])
    assert results[0].created and results[1].error is not None
    assert "line 1 description" in results[1].error.message
    assert [inv.batch_key for inv in filedrop.read_invoices(None)] == [good.batch_key]


def test_reconcile_flags_a_file_edited_after_it_was_dropped(warehouse, filedrop):
    batches = sample_batches(3, lines_per_batch=4)
    run_billing(warehouse, filedrop, batches, "run-1", backoff=NO_BACKOFF)
    qty = COLUMNS.index("quantity")
    edited = filedrop.root / f"{batches[0].batch_key}.csv"
    original = edited.read_bytes()
    _rewrite(edited, lambda rows: rows[2].__setitem__(qty, str(Decimal(rows[2][qty]) + 1)))
    tampered = filedrop.root / f"{batches[1].batch_key}.csv"
    _rewrite(tampered, lambda rows: rows[0].__setitem__(4, "0.00"))  # control total only

    outbox.read_back(warehouse, filedrop, "run-2")
    result = outbox.reconcile(warehouse, "run-2", filedrop.name)
    assert "quantity" in result.mismatched[batches[0].batch_key]
    assert "invalid" in result.mismatched[batches[0].batch_key]
    assert "invalid" in result.mismatched[batches[1].batch_key]
    assert result.reconciled == [batches[2].batch_key]

    edited.write_bytes(original)  # corrected on the share
    _rewrite(tampered, lambda rows: rows[0].__setitem__(4, str(batches[1].control_totals().amount)))
    outbox.read_back(warehouse, filedrop, "run-3")
    assert len(outbox.reconcile(warehouse, "run-3", filedrop.name).reconciled) == 3
    assert audit_events(warehouse, batches[0].batch_key)[-2:] == ["mismatch", "reconciled"]


def test_plan_adopts_a_file_the_outbox_never_recorded(warehouse, filedrop):
    batches = sample_batches(2, lines_per_batch=3)
    outbox.freeze(warehouse, batches, "run-1")
    filedrop.create_if_absent(batches[:1])  # the send died before recording it
    actions = {i.batch_key: i.action for i in outbox.plan(warehouse, filedrop, batches)}
    assert actions == {batches[0].batch_key: "adopt", batches[1].batch_key: "create"}


def test_post_is_the_erps_own_step(filedrop):
    with pytest.raises(BusinessErpError, match="acknowledged"):
        filedrop.post(["b_x.csv"])


def test_settings_select_the_file_drop_adapter(tmp_path):
    env = {"D2B_HOME": str(tmp_path), "D2B_ERP_ADAPTER": "filedrop"}
    adapter = make_adapter(ErpSettings.from_env(env))
    assert isinstance(adapter, FileDropAdapter)
    assert adapter.root == tmp_path / "erp" / "filedrop"
    env["D2B_ERP_FILEDROP_DIR"] = str(tmp_path / "share")
    assert make_adapter(ErpSettings.from_env(env)).root == tmp_path / "share"
    with pytest.raises(ValueError, match="filedrop_dir"):
        make_adapter(ErpSettings(adapter="filedrop"))


# The default suite kills in the ERP/outbox gap only (the other steps are the outbox's own,
# covered against Tryton); the rest run with ``-m slow``.
@pytest.mark.parametrize("point", kill_point_params(default={"after_erp_create"}))
def test_kill_at_step_then_rerun_bills_every_line_exactly_once(tmp_path, filedrop, point):
    batches = sample_batches(5, lines_per_batch=8, id_prefix=point)
    batches_file = write_batches(tmp_path, batches)
    killed = run_billing_cli(tmp_path, filedrop, batches_file, "--fault-after", point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    rerun = run_billing_cli(tmp_path, filedrop, batches_file)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout)["statuses"] == {"reconciled": 5}
    files = _files(filedrop)
    again = run_billing_cli(tmp_path, filedrop, batches_file)
    assert json.loads(again.stdout)["send"]["erp_calls"] == 0
    assert _files(filedrop) == files

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        assert_exactly_once(con, filedrop, batches)
        for batch in batches:
            assert audit_events(con, batch.batch_key) == KILL_STORY[point]
    finally:
        con.close()


def test_killed_while_writing_files_then_rerun(tmp_path, filedrop):
    """A real SIGKILL at whatever point the writer is when the first file appears."""
    batches = sample_batches(400, lines_per_batch=10, id_prefix="midwrite")
    batches_file = write_batches(tmp_path, batches)
    child = subprocess.Popen(
        billing_cli_command(tmp_path, filedrop, batches_file),
        cwd=REPO,
        env=child_env(tmp_path / "home"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(filedrop.root.glob("b_*.csv")) and child.poll() is None:
            assert time.monotonic() < deadline, "the child never wrote a file"
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    dropped = {p.stem for p in filedrop.root.glob("b_*.csv")}
    assert 0 < len(dropped) < len(batches), "kill landed outside the writing phase"
    # Every file the ERP could pick up is whole.
    assert {inv.state for inv in filedrop.read_invoices(None)} == {"draft"}

    rerun = run_billing_cli(tmp_path, filedrop, batches_file)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    send = json.loads(rerun.stdout)["send"]
    # The first chunk's files were written but never recorded: adopted, not rewritten.
    assert send["adopted"] >= 1 and send["adopted"] + send["created"] == len(batches)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        assert_exactly_once(con, filedrop, batches)
    finally:
        con.close()
