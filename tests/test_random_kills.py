"""Acceptance (issue 21): ``d2b run`` and ``d2b bill`` SIGKILLed at random moments; each next
run completes by itself and the data equals a clean run's.

The hand-written firm (tests/fixtures/firm_by_hand) is the smallest that goes through every
phase: ingest, the dbt builds, billing (its one entity has no auto-release rule, so ``d2b
run`` re-syncs and freezes its June batch and ``d2b bill --release`` releases, sends, reads
back and reconciles it) and publish. A clean home measures how long each command takes;
every kill comes at a moment drawn uniformly from that duration, so kills land in every
phase, and SIGKILLs the command's whole process group (dbt and all), as a pulled plug would.

- ``d2b run`` kills are chained in one home, started from the bare landing zone: kill,
  complete, kill, complete... Each completing run is the next kill's start state. The home
  then equals the clean home after its ``d2b run``.
- ``d2b bill`` kills each start from a copy of that home (batches awaiting release): once a
  period is reconciled a later billing run has nothing left to send or read back. Each
  completing ``d2b bill`` must leave what the clean ``d2b bill`` did.

``D2B_KILLS`` (default 20) sets the number of kills, a fifth of them of ``d2b run``;
``D2B_KILL_SEED`` the seed, printed so a failure reproduces. tests/erp/test_random_kills.py
kills the billing run on hand-written batches; tests/test_recovery.py kills ``d2b run`` of
the sample firm during ingest and during the dbt build.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.pipeline_runs import FIRM_BY_HAND, FIRM_BY_HAND_AS_OF, query
from tests.support.d2b_cli import D2B, d2b_environment, run_d2b
from tests.test_as_of import mart_fingerprints
from tests.test_recovery import _batches, _marts_reading_billing

pytestmark = [pytest.mark.slow, pytest.mark.long]

KILLS = int(os.environ.get("D2B_KILLS", "20"))
SEED = int(os.environ.get("D2B_KILL_SEED", "2121"))

#: The firm's one closed period with candidates, as of its as-of date.
PERIOD = "2026-06"
RUN = ("run", "--as-of", FIRM_BY_HAND_AS_OF.isoformat())
BILL = ("bill", "--period", PERIOD, "--release", "--as-of", FIRM_BY_HAND_AS_OF.isoformat())
#: A whole run of the firm on a shared machine: generous, yet not forever.
TIMEOUT = 900


def complete(home: Path, command: tuple[str, ...]) -> float:
    """Run ``d2b <command>`` in ``home`` to its end; it must succeed alone. Its seconds."""
    started = time.monotonic()
    done = run_d2b(*command, home=home, timeout=TIMEOUT)
    assert done.returncode == 0, f"d2b {' '.join(command)}: {done.stderr[-3000:]}"
    return time.monotonic() - started


def killed(home: Path, command: tuple[str, ...], moment: float) -> bool:
    """Start ``d2b <command>`` in ``home`` and SIGKILL its process group ``moment`` seconds
    later; False when it had finished by then."""
    process = subprocess.Popen(
        [D2B, *command],
        env=d2b_environment(home),
        start_new_session=True,  # its process group: dbt dies with it, as on a pulled plug
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=moment)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def erp_invoices(home: Path) -> list:
    """The invoices of ``home``'s ERP (tests.support.erp_invoices, in a process of its own)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.erp_invoices"],
        env=d2b_environment(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def billed_state(home: Path) -> tuple[dict, list, list]:
    """What a home's runs left: every mart row for row but those the billing run feeds
    (they carry its times: frozen, sent), the billed batches, and the ERP's invoices."""
    warehouse = home / "warehouse.duckdb"
    billed = _marts_reading_billing()
    marts = {m: f for m, f in mart_fingerprints(warehouse).items() if m not in billed}
    return marts, _batches(warehouse), erp_invoices(home)


def assert_each_record_billed_once(home: Path, invoices: list) -> None:
    """Every record of a reconciled batch is on exactly one ERP line, and nothing else is."""
    per_record = Counter(cid for invoice in invoices for line in invoice[4] for cid in line[3])
    assert not per_record or set(per_record.values()) == {1}, "a record on two ERP lines"
    reconciled = query(
        home / "warehouse.duckdb",
        "SELECT c.correlation_id FROM ops.erp_outbox_correlations c JOIN ops.erp_outbox o "
        "USING (batch_key) WHERE o.status = 'reconciled'",
    )
    assert set(per_record) == {cid for (cid,) in reconciled}


def test_d2b_run_and_d2b_bill_killed_at_random_moments_end_as_a_clean_run(tmp_path):
    rng = random.Random(SEED)
    print(f"\nrandom kills: D2B_KILL_SEED={SEED} D2B_KILLS={KILLS}", flush=True)
    run_kills = max(1, KILLS // 5)
    clean, after_run = tmp_path / "clean", tmp_path / "clean_after_run"
    shutil.copytree(FIRM_BY_HAND, clean / "landing")
    run_seconds = complete(clean, RUN)
    shutil.copytree(clean, after_run)
    # the shorter of two clean billing runs: a moment drawn within it lands while one runs
    timed = tmp_path / "timed_bill"
    shutil.copytree(after_run, timed)
    bill_seconds = min(complete(clean, BILL), complete(timed, BILL))
    shutil.rmtree(timed)
    after_run_state, clean_state = billed_state(after_run), billed_state(clean)
    assert [status for _, _, status, *_ in clean_state[1]] == ["reconciled"]
    assert_each_record_billed_once(clean, clean_state[2])
    print(f"clean: d2b run {run_seconds:.1f} s, d2b bill {bill_seconds:.1f} s", flush=True)

    chained = tmp_path / "chained"
    shutil.copytree(FIRM_BY_HAND, chained / "landing")
    hits = 0
    for kill in range(run_kills):
        moment = rng.uniform(0, run_seconds)
        hit = killed(chained, RUN, moment)
        hits += hit
        print(
            f"kill {kill + 1}: d2b run at {moment:.1f} s ({'killed' if hit else 'had ended'})",
            flush=True,
        )
        # the next kill lands within this run's duration: a re-run on a built home is faster
        run_seconds = complete(chained, RUN)
    assert billed_state(chained) == after_run_state

    for kill in range(run_kills, KILLS):
        home = tmp_path / f"bill_{kill + 1}"
        shutil.copytree(chained, home)
        moment = rng.uniform(0, bill_seconds)
        hit = killed(home, BILL, moment)
        hits += hit
        print(
            f"kill {kill + 1}: d2b bill at {moment:.1f} s ({'killed' if hit else 'had ended'})",
            flush=True,
        )
        complete(home, BILL)
        state = billed_state(home)
        assert state == clean_state
        assert_each_record_billed_once(home, state[2])
        shutil.rmtree(home)

    assert hits > KILLS // 2, f"most kills must hit a running command: {hits} of {KILLS} did"
