"""Acceptance (issue 21): the billing run SIGKILLed at random moments, each next run goes on
without a human, and the final outbox and ERP equal a clean run's.

Unlike tests/erp/test_fault_kills.py (a kill at each named step), the kill here comes from
outside at a moment drawn from a seeded random generator, anywhere from the interpreter's
start to the end of the run: bootstrapping the ERP database, freezing, sending, reading back.
The same moments are drawn on every run of the test. tests/test_recovery.py kills ``d2b run``
during ingest and during the dbt build.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
import uuid
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from bench.sample import sample_batches
from erp.adapters.tryton import TrytonAdapter
from erp.settings import TrytonSettings

from .conftest import REPO, assert_exactly_once, billing_cli_command, child_env, write_batches

#: Billing runs killed, each at its own random moment.
BILLING_KILLS = 14
SEED = 21


def outcome(tmp_path: Path, erp: TrytonSettings) -> dict:
    """What a billing run leaves, without ids a run draws: per batch, its outbox status and
    the ERP invoice (state, amounts, lines)."""
    adapter = TrytonAdapter(erp)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        statuses = dict(con.execute("SELECT batch_key, status FROM ops.erp_outbox").fetchall())
        invoices = {
            inv.batch_key: (
                inv.state,
                inv.untaxed_amount,
                inv.tax_amount,
                sorted((ln.line_key, ln.quantity, ln.amount) for ln in inv.lines),
            )
            for inv in adapter.read_invoices(None)
        }
    finally:
        con.close()
        adapter.close()
    return {key: (status, invoices.get(key)) for key, status in statuses.items()}


def run_to_end(workdir: Path, erp: TrytonSettings, batches_file: Path) -> float:
    """One billing run left to finish; its seconds."""
    started = time.monotonic()
    done = subprocess.run(
        billing_cli_command(workdir, erp, batches_file),
        cwd=REPO,
        env=child_env(workdir / "home", erp),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("erp_settings", ["sqlite"], indirect=True)
def test_billing_killed_at_random_moments_ends_as_a_clean_run(tmp_path, erp_settings):
    batches = sample_batches(4, lines_per_batch=6, id_prefix="random-kills")
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    clean_dir.mkdir()
    killed_dir.mkdir()
    batches_file = write_batches(tmp_path, batches)
    clean_erp = erp_settings
    # another database next to the clean run's (trytond's SQLite directory is process-wide)
    killed_erp = replace(erp_settings, database_name=f"erp_{uuid.uuid4().hex[:10]}")
    seconds = run_to_end(clean_dir, clean_erp, batches_file)

    rng = random.Random(SEED)
    finished_early = 0
    for _ in range(BILLING_KILLS):
        run = subprocess.Popen(
            billing_cli_command(killed_dir, killed_erp, batches_file),
            cwd=REPO,
            env=child_env(killed_dir / "home", killed_erp),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            run.wait(timeout=rng.uniform(0, seconds))
            finished_early += 1  # nothing left to do: the kill came after the end
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
            run.wait()
    run_to_end(killed_dir, killed_erp, batches_file)

    assert finished_early < BILLING_KILLS // 2, "most kills must hit a running billing"
    adapter = TrytonAdapter(killed_erp)
    con = duckdb.connect(str(killed_dir / "warehouse.duckdb"))
    try:
        assert_exactly_once(con, adapter, batches)
    finally:
        con.close()
        adapter.close()
    clean = outcome(clean_dir, clean_erp)
    assert set(clean) == {b.batch_key for b in batches}
    assert outcome(killed_dir, killed_erp) == clean
