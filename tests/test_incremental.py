"""Incremental dbt models (macros/incremental.sql): a daily build gives what a full one does.

A generated firm is built with its last day of activity exports held back; the day then
lands and the daily build runs incrementally. A copy of that warehouse rebuilt with
``--full-refresh`` must hold the same rows in every intermediate and mart table. A changed
var (here the as-of date) must make the incremental models build in full again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from dagster_project import bench
from ingest.warehouse import connect

pytestmark = pytest.mark.slow

AS_OF = date(2025, 6, 30)
INCREMENTAL_MODELS = {
    "int_time_entries_unioned",
    "int_time_entries_rated",
    "int_time_entry_exceptions",
    "fct_time_entries",
    "fct_lifecycle_events",
}


def _dbt_build(workdir: Path, warehouse: Path, as_of: date, *extra: str) -> None:
    command = bench._phase_command("dbt_build", workdir, 0, 0, as_of)
    target = command.index("--target-path") + 1
    command[target] = str(warehouse.with_suffix(".target"))
    env = {**os.environ, "D2B_HOME": str(workdir), "D2B_WAREHOUSE": str(warehouse)}
    subprocess.run([*command, *extra], cwd=bench.REPO, env=env, check=True)


def _model_tables(warehouse: Path) -> list[str]:
    with connect(warehouse, read_only=True) as con:
        return [
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where schema_name in ('intermediate', 'marts') order by all"
            ).fetchall()
        ]


def _differences(warehouse: Path, other: Path) -> dict[str, tuple[int, int]]:
    """Per table present in both: rows only in ``warehouse``, rows only in ``other``.

    The pipeline health marts are left out: they measure minutes since the last load, so
    two builds at different moments differ by design."""
    differ = {}
    with connect(warehouse, read_only=True) as con:
        con.execute(f"attach '{other}' as other (read_only)")
        for table in _model_tables(warehouse):
            if table.startswith("marts.pipeline_health_"):
                continue
            only_here, only_there = (
                con.execute(
                    f"select count(*) from (select * from {a} except all select * from {b})"
                ).fetchone()[0]
                for a, b in ((table, f"other.{table}"), (f"other.{table}", table))
            )
            if only_here or only_there:
                differ[table] = (only_here, only_there)
    return differ


def _build_kinds(warehouse: Path) -> list[tuple[str, str]]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "select model_name, build_kind from ops.dbt_incremental_state order by built_at"
        ).fetchall()


@pytest.fixture(scope="module")
def daily_run(tmp_path_factory) -> Path:
    """A sample firm built without its last day, then the day landed and built (incremental)."""
    work = tmp_path_factory.mktemp("incremental")
    generated = bench.run_phase("generate", work, 0.02, 42, AS_OF)
    assert generated.ok, generated.detail
    assert bench.hold_back_last_day(work) > 0
    for phase in ("ingest", "dbt_build", "incremental"):
        result = bench.run_phase(phase, work, 0.02, 42, AS_OF)
        assert result.ok, result.detail
    return work


def test_the_daily_build_is_incremental_and_equals_a_full_build(daily_run):
    warehouse = daily_run / "warehouse.duckdb"
    kinds = _build_kinds(warehouse)
    # the first build of each model is full, the day's is incremental
    assert {model for model, _ in kinds} == INCREMENTAL_MODELS
    for model in INCREMENTAL_MODELS:
        assert [kind for name, kind in kinds if name == model] == ["full", "incremental"]

    full = daily_run / "full.duckdb"
    shutil.copy(warehouse, full)
    _dbt_build(daily_run, full, AS_OF, "--full-refresh")

    assert len(_model_tables(warehouse)) > 30
    assert _differences(warehouse, full) == {}


def test_a_changed_var_builds_in_full_again(daily_run):
    earlier = date(2025, 5, 31)
    warehouse = daily_run / "warehouse.duckdb"
    _dbt_build(daily_run, warehouse, earlier)
    # a new as-of date changes the fingerprint: every incremental model rebuilt every row
    last_kinds = dict(_build_kinds(warehouse)[-len(INCREMENTAL_MODELS) :])
    assert last_kinds == dict.fromkeys(INCREMENTAL_MODELS, "full")

    fresh = daily_run / "fresh.duckdb"
    shutil.copy(warehouse, fresh)
    _dbt_build(daily_run, fresh, earlier, "--full-refresh")
    assert _differences(warehouse, fresh) == {}


def test_a_billing_run_rebuilds_only_the_models_that_read_the_outbox(daily_run):
    from erp.outbox import ensure_schema

    billed = daily_run / "billed.duckdb"
    shutil.copy(daily_run / "warehouse.duckdb", billed)
    _dbt_build(daily_run, billed, AS_OF)  # settled at AS_OF, whatever other tests built
    with connect(billed) as con:
        ensure_schema(con)
        con.execute("insert into ops.erp_outbox_correlations values ('c-unknown', 'l1', 'b1')")
        # a long build log: the next run keeps each model's last 100 builds
        con.execute(
            "insert into ops.dbt_incremental_state select 'int_time_entries_rated', 'old', "
            "'full', null, timestamp '2000-01-01' + to_days(i) from range(150) as t(i)"
        )
    _dbt_build(daily_run, billed, AS_OF)

    last_kinds = dict(_build_kinds(billed)[-len(INCREMENTAL_MODELS) :])
    assert last_kinds == {
        "int_time_entries_unioned": "incremental",
        "int_time_entries_rated": "incremental",
        "int_time_entry_exceptions": "incremental",
        "fct_time_entries": "full",  # they read ops.erp_outbox_correlations
        "fct_lifecycle_events": "full",
    }
    with connect(billed, read_only=True) as con:
        kept = con.execute(
            "select count(*), max(built_at) > timestamp '2001-01-01' "
            "from ops.dbt_incremental_state where model_name = 'int_time_entries_rated'"
        ).fetchone()
    assert kept == (101, True)  # the last 100 at the start of the run, and this build
