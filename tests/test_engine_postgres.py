"""The dbt project on PostgreSQL builds the same marts as on DuckDB, row for row.

A firm is loaded into a DuckDB warehouse by ingest, built there by ``dbt build``, copied
into a PostgreSQL 15 cluster the test starts (ingest/postgres_sink.py) and built there by the
same project (``D2B_ENGINE=postgres``); every table of the ``marts`` schema must hold the same
rows on both engines, apart from the columns that measure time to the build's clock.
Debian's PostgreSQL server binaries are needed (``make postgres-deps``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from d2b.settings import Settings
from ingest.loader import load_landing
from ingest.postgres_sink import copy_sources_to_postgres
from ingest.warehouse import connect, ensure_bookkeeping
from tests.conftest import SAMPLE_AS_OF
from tests.pipeline_runs import FIRM_BY_HAND, FIRM_BY_HAND_AS_OF
from tests.support.tryton_server import PostgresCluster, free_port

pytestmark = pytest.mark.slow

#: Columns measured against the build's clock (now minus a stored time): they differ by the
#: seconds between the two builds, and the status read from them may too.
CLOCK_COLUMNS = {
    "pipeline_health_sources": {"hours_since_last_load"},
    "pipeline_health_assets": {"hours_since_materialized", "freshness_status"},
}


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the test's own, stopped at the end of the module."""
    with tempfile.TemporaryDirectory(prefix="d2b-engine-") as workdir:
        # the server runs as the postgres user when the test runs as root: it must enter
        Path(workdir).chmod(0o755)
        cluster = PostgresCluster(Path(workdir) / "pgdata", free_port())
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


def _create_database(cluster: PostgresCluster, name: str) -> dict[str, object]:
    cluster.create_database(name)
    return {"host": "127.0.0.1", "port": cluster.port, "dbname": name, "user": "postgres"}


def _dbt_build(env: dict[str, str], as_of: date, target_path: Path) -> None:
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


def _normalized(value: object) -> object:
    # the engines agree on a decimal's value, not always on its printed scale
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, list):
        return tuple(_normalized(v) for v in value)
    return value


def _rows(cursor, table: str, columns: list[str]) -> list[tuple]:
    cursor.execute(f"select {', '.join(columns)} from marts.{table}")
    rows = [tuple(_normalized(v) for v in row) for row in cursor.fetchall()]
    return sorted(rows, key=repr)


def _mart_columns(warehouse: Path) -> dict[str, list[str]]:
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


def _build_on_both_engines(
    landing: Path, as_of: date, home: Path, cluster: PostgresCluster, database: str
) -> tuple[Path, dict[str, object]]:
    warehouse = home / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_bookkeeping(con)
        load_landing(con, landing)
    duckdb_env = {"D2B_ENGINE": "duckdb", "D2B_HOME": str(home), "D2B_WAREHOUSE": str(warehouse)}
    _dbt_build(duckdb_env, as_of, home / "target_duckdb")
    connection = _create_database(cluster, database)
    copied = copy_sources_to_postgres(warehouse, connection)
    assert copied["raw.harvest__time_entries"] > 0
    settings = Settings.from_env(
        {
            "D2B_HOME": str(home),
            "D2B_ENGINE": "postgres",
            "D2B_POSTGRES_PORT": str(cluster.port),
            "D2B_POSTGRES_USER": "postgres",
            "D2B_POSTGRES_DATABASE": database,
        }
    )
    assert settings.dbt.postgres_connection() == connection
    postgres_env = {
        "D2B_ENGINE": "postgres",
        "D2B_HOME": str(home),
        "D2B_POSTGRES_PORT": str(cluster.port),
        "D2B_POSTGRES_USER": "postgres",
        "D2B_POSTGRES_DATABASE": database,
    }
    _dbt_build(postgres_env, as_of, home / "target_postgres")
    return warehouse, connection


@pytest.mark.parametrize(
    ("firm", "as_of"),
    [
        pytest.param(
            "sample",
            SAMPLE_AS_OF,
            # measured: every other mart is equal; lag_summary_monthly's p90 differs in the
            # last bit of a double (DuckDB's quantile_cont 13.600000000000001, PostgreSQL's
            # percentile_cont 13.6): to fix, not to compare loosely (docs/scale.md)
            marks=pytest.mark.xfail(strict=True, reason="lag_summary_monthly p90 last bit"),
        ),
        ("firm_by_hand", FIRM_BY_HAND_AS_OF),
    ],
)
def test_every_mart_is_the_same_on_postgres_as_on_duckdb(
    request, tmp_path, postgres: PostgresCluster, firm: str, as_of: date
) -> None:
    import psycopg2

    landing = request.getfixturevalue("sample").out_dir if firm == "sample" else FIRM_BY_HAND
    warehouse, connection = _build_on_both_engines(landing, as_of, tmp_path, postgres, firm)
    marts = _mart_columns(warehouse)
    assert "fct_time_entries" in marts and "project_financials_monthly" in marts
    differing = []
    pg = psycopg2.connect(**connection)
    try:
        with connect(warehouse, read_only=True) as con, pg.cursor() as cur:
            for table, columns in marts.items():
                duckdb_rows = _rows(con, table, columns)
                postgres_rows = _rows(cur, table, columns)
                if duckdb_rows != postgres_rows:
                    only_duckdb = set(duckdb_rows) - set(postgres_rows)
                    differing.append(
                        f"{table}: {len(duckdb_rows)} vs {len(postgres_rows)} rows, "
                        f"e.g. {sorted(only_duckdb, key=repr)[:1]}"
                    )
    finally:
        pg.close()
    assert not differing, "\n".join(differing)
