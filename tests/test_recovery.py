"""Runs recover by themselves (issue 21): a killed run never blocks the next one.

A real Dagster run (``tests.support.pool_holder``) holds the writer pool's slot in a process
of its own on an instance configured as ``d2b`` configures it; the tests SIGKILL it there, or
let it hold the slot while another run waits.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from d2b.files import process_alive
from dagster_project.instance import DAGSTER_YAML
from dagster_project.recovery import (
    recover_dead_runs,
    slot_holders,
    wait_for_warehouse,
)
from serving.snapshot import SNAPSHOTS, remove_partials
from tests.support.d2b_cli import D2B, d2b_environment, run_d2b
from tests.test_as_of import mart_fingerprints

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def dagster_home(tmp_path) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def _start_holder(dagster_home: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.pool_holder", str(seconds)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_until_held(instance: dg.DagsterInstance, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not slot_holders(instance):
        assert time.monotonic() < deadline, "the holder never claimed the writer slot"
        time.sleep(0.2)


def _killed_holder(dagster_home: Path, instance: dg.DagsterInstance) -> str:
    """Start a holder, SIGKILL it while it holds the slot; return its run id."""
    holder = _start_holder(dagster_home, seconds=600)
    _wait_until_held(instance)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    (held,) = slot_holders(instance)
    return held.run_id


def test_a_killed_runs_slot_is_freed_and_the_next_run_completes(dagster_home):
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        dead_run = _killed_holder(dagster_home, instance)
        assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.STARTED

        (recovered,) = recover_dead_runs(instance)

        assert recovered.run_id == dead_run and recovered.marked_failed
        assert "is gone" in recovered.describe()
        assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.FAILURE
        assert slot_holders(instance) == []
        assert recover_dead_runs(instance) == []  # nothing left to recover
        # The next run claims the slot at once (before, it waited forever).
        assert _start_holder(dagster_home, seconds=0).wait(timeout=120) == 0


def test_a_live_runs_slot_is_kept(dagster_home):
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        holder = _start_holder(dagster_home, seconds=600)
        try:
            _wait_until_held(instance)
            assert recover_dead_runs(instance) == []
            (held,) = slot_holders(instance)
            assert held.worker.pid == holder.pid and held.worker.alive()
        finally:
            holder.kill()
            holder.wait()


def test_a_waiting_run_says_what_holds_the_warehouse_and_goes_when_it_is_free(
    dagster_home, tmp_path
):
    said: list[str] = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        holder = _start_holder(dagster_home, seconds=4)
        _wait_until_held(instance)
        (held,) = slot_holders(instance)

        wait_for_warehouse(instance, tmp_path / "serving", said.append, poll_seconds=0.2)

        assert holder.wait(timeout=60) == 0
    assert said[0].startswith("waiting for the warehouse: pool d2b_warehouse is held by run")
    assert held.run_id in said[0] and "step hold" in said[0] and " since " in said[0]
    assert f"process {holder.pid} alive" in said[0]


def test_the_wait_recovers_a_run_killed_while_waiting_and_cleans_a_killed_publish(
    dagster_home, tmp_path
):
    serving = tmp_path / "serving"
    (serving / SNAPSHOTS).mkdir(parents=True)
    partial = serving / SNAPSHOTS / "20260101T000000000000Z.duckdb.part"
    partial.write_bytes(b"half a snapshot")
    kept = serving / SNAPSHOTS / "20251231T000000000000Z.duckdb"
    kept.write_bytes(b"a published snapshot")
    said: list[str] = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        dead_run = _killed_holder(dagster_home, instance)

        wait_for_warehouse(instance, serving, said.append, poll_seconds=0.2)

    assert said[0].startswith(f"recovered run {dead_run} (holder, was STARTED)")
    assert said[1] == f"removed {partial}, left by an interrupted publish"
    assert not partial.exists() and kept.exists()
    assert remove_partials(serving) == []


_WAIT = """
import sys
import dagster as dg
from pathlib import Path
from dagster_project.recovery import wait_for_warehouse

with dg.DagsterInstance.get() as instance:
    wait_for_warehouse(instance, Path(sys.argv[1]), lambda line: print(line, flush=True))
print("the wait returned", flush=True)
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_waiting_run_stops_on_sigterm_and_ctrl_c(dagster_home, tmp_path, stop):
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        holder = _start_holder(dagster_home, seconds=600)
        try:
            _wait_until_held(instance)
            waiter = subprocess.Popen(
                [sys.executable, "-c", _WAIT, str(tmp_path / "serving")],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert waiter.stdout.readline().startswith("waiting for the warehouse")
            waiter.send_signal(stop)
            assert waiter.wait(timeout=10) != 0
            assert "the wait returned" not in waiter.stdout.read()
        finally:
            holder.kill()
            holder.wait()


def test_a_reused_pid_is_not_the_dead_worker():
    me = os.getpid()
    assert process_alive(me, time.time())
    # This process started before now; a worker seen an hour before it started was another.
    assert not process_alive(me, _started_at(me) - 3600)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    assert not process_alive(finished.pid, time.time())


def _started_at(pid: int) -> float:
    from d2b.files import _linux_process_state

    state = _linux_process_state(pid)
    if state is None:
        pytest.skip("process start times are read from /proc (Linux)")
    return state[1]


@pytest.fixture(scope="module")
def clean_d2b_run(sample, sample_run, tmp_path_factory) -> Path:
    """The warehouse of one uninterrupted ``d2b run`` of the sample firm (it bills too)."""
    home = tmp_path_factory.mktemp("clean_d2b_run")
    shutil.copytree(sample.out_dir, home / "landing")
    result = run_d2b("run", "--as-of", sample_run.as_of.isoformat(), home=home, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return home / "warehouse.duckdb"


@pytest.mark.slow
@pytest.mark.parametrize("killed_in", ["ingest_", "d2b_dbt_models"])
def test_a_killed_d2b_run_leaves_the_next_run_to_finish_alone(
    sample, sample_run, clean_d2b_run, tmp_path, killed_in
):
    """SIGKILL ``d2b run`` (and its dbt) while a step holds the writer slot: the next
    ``d2b run`` recovers the dead run by itself and builds (and bills) what a clean
    ``d2b run`` does."""
    home = tmp_path / "home"
    shutil.copytree(sample.out_dir, home / "landing")
    as_of = sample_run.as_of.isoformat()
    killed = subprocess.Popen(
        [D2B, "run", "--as-of", as_of],
        env=d2b_environment(home),
        start_new_session=True,  # its process group: dbt dies with it, as on a pulled plug
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 900
        while not (home / "dagster" / "dagster.yaml").exists():
            assert time.monotonic() < deadline and killed.poll() is None
            time.sleep(0.5)
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            while not any(h.step_key.startswith(killed_in) for h in slot_holders(instance)):
                assert time.monotonic() < deadline and killed.poll() is None, "never held"
                time.sleep(0.5)
            time.sleep(5)  # well into the step
            os.killpg(killed.pid, signal.SIGKILL)
            killed.wait()
            (dead,) = slot_holders(instance)  # today's code would wait for it forever
    finally:
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)

    # A whole build of the sample firm, on a shared machine: generous, yet not forever.
    result = run_d2b("run", "--as-of", as_of, home=home, timeout=1800)

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"recovered run {dead.run_id} (deliver_to_bill, was STARTED)" in result.stdout
    # The marts the billing run feeds carry its times (frozen, sent): compared by the batches
    # billed; every other mart row for row.
    billed = _marts_reading_billing()
    recovered = mart_fingerprints(home / "warehouse.duckdb")
    clean = mart_fingerprints(clean_d2b_run)
    assert {m: f for m, f in recovered.items() if m not in billed} == {
        m: f for m, f in clean.items() if m not in billed
    }
    assert _batches(home / "warehouse.duckdb") == _batches(clean_d2b_run)


def _marts_reading_billing() -> set[str]:
    """The marts downstream of the billing run's tables (what ``d2b run`` rebuilds after it)."""
    import json

    from dagster_project.dbt import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    todo = [
        uid
        for uid in manifest["sources"]
        if uid.split(".")[-2:]
        in (["ops", "erp_outbox"], ["ops", "erp_outbox_correlations"], ["ops", "audit_log"])
        or uid.split(".")[-2] == "erp_api"
    ]
    seen: set[str] = set()
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return {manifest["nodes"][uid]["name"] for uid in seen if uid.startswith("model.")}


def _batches(warehouse: Path) -> list[tuple]:
    """The billed batches: key, period, status, lines and amount."""
    from ingest.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "SELECT batch_key, period, status, line_count, total_amount FROM ops.erp_outbox "
            "ORDER BY batch_key"
        ).fetchall()


def test_under_the_daemon_a_sensor_recovers_dead_runs(dagster_home):
    from dagster_project.defs.automation import dead_run_recovery

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        dead_run = _killed_holder(dagster_home, instance)

        skipped = dead_run_recovery(dg.build_sensor_context(instance=instance))

        assert skipped.skip_message.startswith(f"recovered run {dead_run} (holder, was STARTED)")
        assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.FAILURE
        assert slot_holders(instance) == []
        again = dead_run_recovery(dg.build_sensor_context(instance=instance))
        assert again.skip_message == "no dead runs"


def test_d2b_dev_cancels_the_runs_it_left_queued_when_it_stops(d2b_home, monkeypatch, capsys):
    from dagster_project import cli
    from dagster_project.instance import ensure_dagster_home
    from tests.support.queued_run import queue_run

    ensure_dagster_home(d2b_home)
    monkeypatch.setenv("DAGSTER_HOME", os.environ["DAGSTER_HOME"])  # undone after the test
    with dg.DagsterInstance.get() as instance:
        earlier = queue_run(instance)
    time.sleep(1.1)  # stored creation times may be whole seconds
    # a stand-in for dagster dev queues a run as the landing sensor does, then stops
    assert cli.run_dagster_dev([sys.executable, "-m", "tests.support.queued_run"]) == 0
    with dg.DagsterInstance.get() as instance:
        runs = {run.run_id: run.status for run in instance.get_runs()}
    (mine,) = set(runs) - {earlier.run_id}
    assert runs[mine] == dg.DagsterRunStatus.CANCELED
    assert runs[earlier.run_id] == dg.DagsterRunStatus.QUEUED  # not this d2b dev's: left alone
    assert f"canceled 1 queued run(s) d2b dev left behind: {mine}" in capsys.readouterr().out
