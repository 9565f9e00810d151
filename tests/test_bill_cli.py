"""``d2b bill``, ``d2b hold`` and ``d2b waive`` as a user runs them: on a hand-made candidates
table with a file-drop ERP (fast), and (``-m slow``) on the sample firm after ``d2b run``."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.sample import sample_batches
from dagster_project.cli import main
from erp.outbox.store import outbox_exists
from tests.candidates import write_candidates, write_release_rules
from tests.support.d2b_cli import d2b_environment, run_d2b

PERIOD = "2026-03"
AS_OF = "2026-04-02"


@dataclass
class Outcome:
    """What one in-process ``d2b`` call returned and printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def d2b(capsys) -> Iterator[Callable[..., Outcome]]:
    """``d2b <args>`` in process (the console script's ``main``) in a home with the file-drop
    ERP; the environment and umask ``main`` changes are restored afterwards."""
    saved, umask = dict(os.environ), os.umask(0o022)
    os.umask(umask)

    def call(home: Path, *args: str) -> Outcome:
        os.environ.clear()
        os.environ.update(d2b_environment(home))
        os.environ["D2B_ERP_ADAPTER"] = "filedrop"
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse's usage errors
            code = int(stop.code or 0)
        out = capsys.readouterr()
        return Outcome(code, out.out, out.err)

    yield call
    os.environ.clear()
    os.environ.update(saved)
    os.umask(umask)


@pytest.fixture
def home(tmp_path) -> Path:
    """A home whose warehouse holds March candidates of four clients, built as of AS_OF, and
    auto-release rules for US01 and DE01 only."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    batches = sample_batches(4, period=PERIOD, lines_per_batch=3)
    write_candidates(con, batches, as_of=date.fromisoformat(AS_OF), auto_release=False)
    write_release_rules(con, {"US01": True, "GB01": False, "DE01": True})
    con.close()
    return tmp_path


def test_bill_rejects_a_bad_period_and_a_period_with_nothing_to_bill(home, d2b):
    bad = d2b(home, "bill", "--period", "2026-3x")
    assert bad.returncode == 2 and "not a billing period (YYYY-MM): '2026-3x'" in bad.stderr
    open_period = d2b(home, "bill", "--period", "2026-04", "--as-of", AS_OF)
    assert open_period.returncode == 2
    assert "2026-04 is not closed as of 2026-04-02" in open_period.stderr
    empty = d2b(home, "bill", "--period", "2026-02", "--as-of", AS_OF)
    assert empty.returncode == 2
    assert "d2b: error: 2026-02 has no candidates: no approved, billable" in empty.stderr
    assert len(empty.stderr.strip().splitlines()) == 1


def test_bill_refuses_candidates_built_for_another_as_of_date(home, d2b):
    stale = d2b(home, "bill", "--period", PERIOD, "--as-of", "2026-04-20")
    assert stale.returncode == 1
    assert "were built as of 2026-04-02, not the billing run's as-of date 2026-04-20" in (
        stale.stderr
    )
    # refused before the billing store is opened: nothing frozen anywhere
    assert not (home / "billing" / "billing.duckdb").exists()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert not outbox_exists(con)


def test_bill_sends_auto_released_entities_and_the_rest_on_release(home, d2b):
    plan = d2b(home, "bill", "--period", PERIOD, "--as-of", AS_OF, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.count("freeze_and_create") == 4 and "nothing changed" in plan.stdout
    first = d2b(home, "bill", "--period", PERIOD, "--as-of", AS_OF)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "4 candidate batches, 12 lines" in out
    assert "released 2 by the entities' auto-release rule, 0 by hand" in out
    assert "sent 2 invoices to the ERP" in out
    assert "awaiting release: 2 batches (0 on hold)" in out
    assert "2 not on hold: their legal entities are not released automatically" in out
    # amounts for people: thousands separated, two decimals, the currency
    assert re.search(r"awaiting_release\s+1 batches\s+3 lines\s+[\d,]+\.\d\d CAD", out), out
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (uk_key,) = con.execute(
            "SELECT batch_key FROM ops.erp_outbox WHERE legal_entity = 'GB01'"
        ).fetchone()
    held = d2b(
        home,
        "hold",
        "--batch",
        uk_key,
        "--reason",
        "PO missing",
        "--until",
        "2099-01-01",
        "--by",
        "bob",
    )
    assert held.returncode == 0, held.stderr
    second = d2b(home, "bill", "--period", PERIOD, "--as-of", AS_OF, "--release", "--by", "ann")
    assert second.returncode == 0, second.stderr
    assert "released 0 by the entities' auto-release rule, 1 by hand" in second.stdout
    assert "awaiting release: 1 batches (1 on hold)" in second.stdout
    assert "PO missing (by bob until 2099-01-01)" in second.stdout
    plan = d2b(home, "bill", "--period", PERIOD, "--as-of", AS_OF, "--dry-run")
    assert plan.stdout.count("await_release") == 1 and plan.stdout.count("skip") == 3
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT actor, detail->>'rule' FROM ops.audit_log WHERE event = 'released' "
            "ORDER BY actor"
        ).fetchall() == [
            ("ann", "manual"),
            ("config/billing_release", "auto"),
            ("config/billing_release", "auto"),
        ]
        assert dict(con.execute("SELECT legal_entity, status FROM ops.erp_outbox").fetchall()) == {
            "US01": "reconciled",
            "DE01": "reconciled",
            "CA01": "reconciled",
            "GB01": "awaiting_release",
        }


@pytest.mark.slow
def test_bill_on_the_sample_firm_after_d2b_run(tmp_path):
    """The sample firm: ``d2b run`` bills the closed periods (every entity auto-releases);
    ``d2b bill`` of a billed period then sends nothing and says so."""
    as_of = date(2026, 11, 20)
    run = run_d2b("run", "--as-of", as_of.isoformat(), home=tmp_path, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    billed = re.search(r"billing ([\d, -]+): (\d+) batches frozen, (\d+) invoices sent", run.stdout)
    assert billed, run.stdout[-3000:]
    periods = billed.group(1).split(", ")
    assert int(billed.group(2)) > 0 and billed.group(2) == billed.group(3)

    again = run_d2b("bill", "--period", periods[-1], "--as-of", as_of.isoformat(), home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 candidate batches" in again.stdout
    assert "sent 0 invoices to the ERP" in again.stdout
    assert re.search(r"reconciled\s+\d+ batches", again.stdout), again.stdout
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT status FROM ops.erp_outbox").fetchall() == [
            ("reconciled",)
        ]


def test_waive_places_lists_and_lifts_a_waiver_and_refuses_what_cannot_be_waived(home, d2b):
    record = "psa:time_entry:harvest:1001"
    placed = d2b(
        home,
        "waive",
        "--record",
        record,
        "--exception",
        "over_daily_limit",
        "--reason",
        "client approved the overtime",
        "--until",
        "2099-01-01",
        "--by",
        "bob",
    )
    assert placed.returncode == 0, placed.stderr
    (waiver_id,) = re.findall(r"waiver-[0-9a-f]{12}", placed.stdout)
    assert f"over_daily_limit of {record} waived until 2099-01-01" in placed.stdout
    listed = d2b(home, "waive", "--list")
    assert "1 waivers in force" in listed.stdout
    assert f"{waiver_id} {record} over_daily_limit until 2099-01-01 by bob" in listed.stdout

    refused = d2b(
        home, "waive", "--record", record, "--exception", "implausible_date",
        "--reason", "x", "--until", "2099-01-01",
    )  # fmt: skip
    assert refused.returncode != 0
    assert "'implausible_date' cannot be waived (correct it at the source)" in refused.stderr
    incomplete = d2b(home, "waive", "--record", record, "--exception", "future_dated")
    assert incomplete.returncode != 0
    assert "a waiver needs --exception, --reason and --until" in incomplete.stderr

    lifted = d2b(home, "waive", "--lift", waiver_id, "--by", "carol")
    assert lifted.returncode == 0, lifted.stderr
    assert "0 waivers in force" in d2b(home, "waive", "--list").stdout
    # mirrored into the warehouse, and audited under the record's correlation id
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT event, to_status, actor FROM ops.audit_log WHERE batch_key = ? "
            "ORDER BY event_at",
            [record],
        ).fetchall() == [
            ("waiver_placed", "waived", "bob"),
            ("waiver_lifted", "waiver_lifted", "carol"),
        ]
        assert con.execute("SELECT count(*) FROM ops.billing_waiver_lifts").fetchone() == (1,)


def test_erp_feedback_reads_the_invoices_billed(home, d2b):
    nothing = d2b(home, "erp-feedback")
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout.strip() == "ERP feedback: 0 of 0 open invoices read"
    billed = d2b(home, "bill", "--period", PERIOD, "--as-of", AS_OF)
    assert billed.returncode == 0, billed.stderr
    read = d2b(home, "erp-feedback")
    assert read.returncode == 0, read.stderr
    # the two auto-released batches were sent; the file drop holds them as drafts
    assert read.stdout.strip() == "ERP feedback: 2 of 2 open invoices read (2 draft)"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ((rows,),) = con.execute("SELECT count(*) FROM raw.erp_api__invoice_status").fetchall()
    assert rows == 2
