"""Crash tests: the billing run SIGKILLed at every step, then re-run, against real Tryton
(embedded SQLite; with ``-m slow`` also a trytond server over XML-RPC on PostgreSQL).

Each case kills a real child process (``python -m tests.support.run_billing --fault-after
STEP``), then runs the billing again without fault and checks: every candidate line on exactly
one ERP invoice line, none twice, none missing; control totals tie; the audit log tells the
story.
"""

from __future__ import annotations

import json
import signal

import duckdb
import pytest

from bench.sample import sample_batches
from erp.adapters.tryton import TrytonAdapter
from tests.support.faults import FAULT_POINTS

from .conftest import (
    KILL_STORY,
    assert_exactly_once,
    audit_events,
    kill_point_params,
    run_billing_cli,
    write_batches,
)


@pytest.mark.parametrize("point", kill_point_params())
def test_kill_at_step_then_rerun_bills_every_line_exactly_once(tmp_path, erp_settings, point):
    batches = sample_batches(5, lines_per_batch=8, id_prefix=point)
    batches_file = write_batches(tmp_path, batches)

    killed = run_billing_cli(tmp_path, erp_settings, batches_file, "--fault-after", point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    rerun = run_billing_cli(tmp_path, erp_settings, batches_file)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)
    assert summary["statuses"] == {"reconciled": 5}

    if point == "after_erp_create":
        # And billing the same period once more changes nothing in the ERP.
        again = run_billing_cli(tmp_path, erp_settings, batches_file)
        assert json.loads(again.stdout)["send"]["erp_calls"] == 0

    adapter = TrytonAdapter(erp_settings)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        assert_exactly_once(con, adapter, batches)
        for batch in batches:
            assert audit_events(con, batch.batch_key) == KILL_STORY[point]
        runs = {r for (r,) in con.execute("SELECT DISTINCT run_id FROM ops.audit_log").fetchall()}
        assert len(runs) == (1 if point in {"after_reconcile"} else 2)
    finally:
        con.close()
        adapter.close()


def test_transient_errors_in_a_child_process_recover(tmp_path, erp_settings):
    batches = sample_batches(3, lines_per_batch=5, id_prefix="flaky")
    batches_file = write_batches(tmp_path, batches)
    run = run_billing_cli(
        tmp_path, erp_settings, batches_file, "--transient-failures", "2", "--lost-responses", "1"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert summary["send"]["adopted"] == 3 and summary["send"]["erp_calls"] == 4
    adapter = TrytonAdapter(erp_settings)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        assert_exactly_once(con, adapter, batches)
    finally:
        con.close()
        adapter.close()


@pytest.mark.slow
def test_killed_at_every_step_in_turn_on_one_erp(tmp_path, erp_settings):
    """One ERP and one warehouse through a kill at each step in turn, new batches each time."""
    all_batches = []
    for n, point in enumerate(FAULT_POINTS):
        all_batches += sample_batches(4, lines_per_batch=6, period=f"2026-{n + 1:02d}")
        batches_file = write_batches(tmp_path, all_batches)
        killed = run_billing_cli(tmp_path, erp_settings, batches_file, "--fault-after", point)
        assert killed.returncode == -signal.SIGKILL
    final = run_billing_cli(tmp_path, erp_settings, batches_file)
    assert final.returncode == 0, final.stderr[-2000:]
    adapter = TrytonAdapter(erp_settings)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        assert_exactly_once(con, adapter, all_batches)
    finally:
        con.close()
        adapter.close()
