"""The billing run after the warehouse is rebuilt, or the billing store lost: no record is
billed twice (issue 21). Dagster's billing job on the file-drop ERP; the rebuilt warehouse's
candidates mart offers the billed records again, as one built without the outbox does: on
hand-written batches, and on the generator's sample firm (its warehouse as built from the
landing zone is the rebuild)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from bench.sample import sample_batches
from erp.adapters.filedrop import FileDropAdapter
from ingest.warehouse import connect
from tests.candidates import write_candidates
from tests.pipeline_runs import PipelineRun
from tests.test_billing import run_period

pytestmark = pytest.mark.slow

MARCH = sample_batches(clients=3, period="2026-03", lines_per_batch=6, entries_per_line=3)
#: Approved late, for the same client, contract and month as MARCH's first batch.
LATE = sample_batches(clients=1, period="2026-03", lines_per_batch=2, id_prefix="late")
LATER = sample_batches(clients=1, period="2026-03", lines_per_batch=2, id_prefix="later")


@pytest.fixture
def home(d2b_home, monkeypatch):
    monkeypatch.setenv("D2B_ERP_ADAPTER", "filedrop")
    monkeypatch.delenv("D2B_ERP_FILEDROP_DIR", raising=False)
    monkeypatch.delenv("D2B_BILLING_STORE", raising=False)
    return d2b_home


def rebuild_warehouse(settings, batches) -> None:
    """A new warehouse whose candidates mart lists the records of ``batches``."""
    settings.warehouse.unlink()
    with connect(settings.warehouse) as con:
        write_candidates(con, batches)


def erp_lines_per_record(settings) -> Counter:
    erp = FileDropAdapter(settings.home / "erp" / "filedrop")
    return Counter(
        cid
        for invoice in erp.read_invoices(None)
        for line in invoice.lines
        for cid in line.correlation_ids
    )


def records(batches) -> set[str]:
    return {cid for batch in batches for cid in batch.correlation_ids}


def test_no_record_is_billed_twice_after_a_rebuild_or_a_lost_store(home, dbt_manifest):
    with connect(home.warehouse) as con:
        write_candidates(con, MARCH)
    assert run_period("2026-03-01").success
    assert set(erp_lines_per_record(home)) == records(MARCH)

    # The warehouse deleted and rebuilt from the landing zone, one late approval landed.
    rebuild_warehouse(home, [*MARCH, *LATE])
    rebuilt = run_period("2026-03-01")

    assert rebuilt.success
    per_record = erp_lines_per_record(home)
    assert set(per_record) == records([*MARCH, *LATE]) and max(per_record.values()) == 1
    freeze = rebuilt.asset_materializations_for_node("billing__erp_outbox")[0].metadata
    assert freeze["excluded_records"].value == len(records(MARCH))
    assert freeze["frozen"].value == 1 and freeze["rejected"].value == 0
    with connect(home.warehouse) as con:  # the rebuilt warehouse has the billing state again
        statuses = con.execute("SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1").fetchall()
    assert statuses == [("reconciled", len(MARCH) + 1)]

    # The billing store lost too (or restored from an old backup): the ERP re-sync still holds.
    home.billing.store.unlink()
    rebuild_warehouse(home, [*MARCH, *LATE, *LATER])
    lost = run_period("2026-03-01")

    assert lost.success
    per_record = erp_lines_per_record(home)
    assert set(per_record) == records([*MARCH, *LATE, *LATER])
    assert max(per_record.values()) == 1
    freeze = lost.asset_materializations_for_node("billing__erp_outbox")[0].metadata
    assert freeze["erp_billed_records"].value == len(records([*MARCH, *LATE]))
    assert freeze["frozen"].value == 1 and freeze["rejected"].value == 0


def test_the_sample_firm_rebuilt_after_billing_bills_no_record_twice(
    sample_run: PipelineRun, home, dbt_manifest
):
    with connect(sample_run.warehouse, read_only=True) as con:
        period, count = con.execute(
            "SELECT period, count(*) FROM marts.billing_batch_candidates "
            "WHERE period >= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
            [home.billing.start[:7]],
        ).fetchone()
        candidates = {
            cid
            for (cid,) in con.execute(
                "SELECT correlation_id FROM marts.billing_batch_candidates WHERE period = ?",
                [period],
            ).fetchall()
        }
    late = max(candidates)
    as_of = sample_run.as_of.isoformat()  # billing is pinned to the date its candidates were built
    home.warehouse.parent.mkdir(parents=True)
    shutil.copy(sample_run.warehouse, home.warehouse)
    with connect(home.warehouse) as con:  # its approval has not landed yet
        con.execute("DELETE FROM marts.billing_batch_candidates WHERE correlation_id = ?", [late])
    assert run_period(f"{period}-01", as_of=as_of).success
    assert set(erp_lines_per_record(home)) == candidates - {late}

    # Rebuilt from the landing zone, where the late approval has now landed.
    home.warehouse.unlink()
    shutil.copy(sample_run.warehouse, home.warehouse)
    assert run_period(f"{period}-01", as_of=as_of).success

    per_record = erp_lines_per_record(home)
    assert set(per_record) == candidates and set(per_record.values()) == {1}

    # The billing store lost as well: the next run re-syncs and bills nothing again.
    home.billing.store.unlink()
    home.warehouse.unlink()
    shutil.copy(sample_run.warehouse, home.warehouse)
    again = run_period(f"{period}-01", as_of=as_of)

    assert again.success
    assert erp_lines_per_record(home) == per_record
    freeze = again.asset_materializations_for_node("billing__erp_outbox")[0].metadata
    assert freeze["excluded_records"].value == count and freeze["frozen"].value == 0
