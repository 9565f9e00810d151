"""Building a firm on DuckDB and on another engine, and comparing their marts row for row.

Shared by the engine tests (tests/test_engine_postgres.py, tests/test_engine_spark.py): a
firm is loaded into a DuckDB warehouse by ingest and built there by ``dbt build``; the other
engine builds the same project from a copy of the warehouse's source tables; every table of
the ``marts`` schema must then hold the same rows on both, apart from the columns that
measure time to the build's clock.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

from ingest.loader import load_landing
from ingest.warehouse import connect, ensure_bookkeeping

#: Columns measured against the build's clock (now minus a stored time): they differ by the
#: seconds between the two builds, and the status read from them may too.
CLOCK_COLUMNS = {
    "pipeline_health_sources": {"hours_since_last_load"},
    "pipeline_health_assets": {"hours_since_materialized", "freshness_status"},
}


def dbt_build(env: dict[str, str], as_of: date, target_path: Path) -> None:
    """A full ``dbt build`` of the whole project as of ``as_of`` on the engine ``env`` names."""
    from dagster_project.dbt import dbt_command

    completed = subprocess.run(
        [
            *dbt_command(["build", "--full-refresh"], as_of),
            "--target-path",
            str(target_path),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-6000:]


def load_and_build_on_duckdb(landing: Path, as_of: date, home: Path) -> Path:
    """Ingest ``landing`` into ``home``'s warehouse and build it there; the warehouse."""
    warehouse = home / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_bookkeeping(con)
        load_landing(con, landing)
    duckdb_env = {"D2B_ENGINE": "duckdb", "D2B_HOME": str(home), "D2B_WAREHOUSE": str(warehouse)}
    dbt_build(duckdb_env, as_of, home / "target_duckdb")
    return warehouse


def _normalized(value: object) -> object:
    # the engines agree on a decimal's value, not always on its printed scale
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, list | tuple):
        return tuple(_normalized(v) for v in value)
    return value


def sorted_rows(rows: Iterable[tuple]) -> list[tuple]:
    """``rows`` normalized (decimal scale, lists as tuples), in one order for any engine."""
    return sorted((tuple(_normalized(v) for v in row) for row in rows), key=repr)


def mart_columns(warehouse: Path) -> dict[str, list[str]]:
    """Every mart of the DuckDB build and its columns, clock columns aside."""
    with connect(warehouse, read_only=True) as con:
        found = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
    marts: dict[str, list[str]] = {}
    for table, column in found:
        if column not in CLOCK_COLUMNS.get(table, set()):
            marts.setdefault(table, []).append(column)
    return marts


def differing_marts(
    warehouse: Path, other_rows: Callable[[str, list[str]], list[tuple]]
) -> list[str]:
    """One line per mart whose rows differ between DuckDB and the other engine.

    ``other_rows(table, columns)`` reads a mart's columns on the other engine. Empty when
    every mart is equal.
    """
    marts = mart_columns(warehouse)
    assert "fct_time_entries" in marts and "project_financials_monthly" in marts
    differing = []
    with connect(warehouse, read_only=True) as con:
        for table, columns in marts.items():
            duckdb_rows = sorted_rows(
                con.execute(f"select {', '.join(columns)} from marts.{table}").fetchall()
            )
            rows = sorted_rows(other_rows(table, columns))
            if duckdb_rows != rows:
                only_duckdb = set(duckdb_rows) - set(rows)
                differing.append(
                    f"{table}: {len(duckdb_rows)} vs {len(rows)} rows, "
                    f"e.g. {sorted(only_duckdb, key=repr)[:1]}"
                )
    return differing
