"""Files d2b writes: a partial file whose writer was killed is cleaned at the next start, a
write under way is left alone (d2b/files.py); the billing run creates its files 0600."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from bench.sample import sample_batches
from d2b.files import partial_path, remove_orphaned_partials
from erp.adapters.tryton_bootstrap import remove_leftovers
from erp.settings import TrytonSettings


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has ended."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    return ended.pid


def test_a_partial_name_carries_its_writer(tmp_path):
    target = tmp_path / "d2b_erp.sqlite"
    assert partial_path(target) == tmp_path / f".d2b_erp.sqlite.{os.getpid()}.partial"


def test_only_the_partials_of_gone_writers_are_removed(tmp_path, dead_pid):
    killed = [
        tmp_path / f".a.sqlite.{dead_pid}.partial",
        tmp_path / f".a.sqlite.{dead_pid}.partial-journal",
    ]
    kept = [
        partial_path(tmp_path / "b.sqlite"),  # this process is writing it
        tmp_path / "a.sqlite",  # the file itself
        tmp_path / f"notes.{dead_pid}.txt",
    ]
    for path in killed + kept:
        path.write_text("x")

    assert remove_orphaned_partials(tmp_path) == sorted(killed)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert remove_orphaned_partials(tmp_path / "missing") == []


def test_a_killed_tryton_bootstrap_leaves_nothing_behind(tmp_path, dead_pid):
    settings = TrytonSettings(database_dir=tmp_path / "erp")
    templates = settings.templates
    templates.mkdir(parents=True)
    killed = [
        # a database copy, a template copy and a template build, each by a killed process
        settings.database_dir / f".d2b_erp.sqlite.{dead_pid}.partial",
        templates / f".d2b_erp_template_0123abcd.sqlite.{dead_pid}.partial",
        templates / f"d2b_erp_build_0123abcd_{dead_pid}.sqlite",
        templates / f"d2b_erp_build_0123abcd_{dead_pid}.sqlite-wal",
    ]
    kept = [
        settings.database_file,
        templates / "d2b_erp_template_0123abcd.sqlite",
        templates / f"d2b_erp_build_0123abcd_{os.getpid()}.sqlite",  # a bootstrap under way
    ]
    for path in killed + kept:
        path.write_text("x")

    assert sorted(remove_leftovers(settings)) == sorted(killed)
    assert all(path.exists() for path in kept)


@pytest.mark.slow
def test_the_billing_run_creates_files_for_the_user_alone(tmp_path):
    """``python -m erp.run_billing`` sets its umask first, as ``d2b`` does (one filedrop run)."""
    batches = tmp_path / "batches.json"
    batches.write_text(json.dumps([b.to_payload() for b in sample_batches(2, lines_per_batch=3)]))
    os.chmod(batches, 0o600)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "erp.run_billing",
            "--warehouse",
            str(out / "warehouse.duckdb"),
            "--batches",
            str(batches),
            "--adapter",
            "filedrop",
            "--filedrop-dir",
            str(out / "drop"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "D2B_HOME": str(tmp_path / "home")},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    created = list(out.rglob("*"))
    assert any(p.suffix == ".csv" for p in created) and any(p.is_dir() for p in created)
    shared = [str(p) for p in created if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert shared == []
