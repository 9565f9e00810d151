"""The dbt project on PostgreSQL builds the same marts as on DuckDB, row for row.

A firm is loaded into a DuckDB warehouse by ingest, built there by ``dbt build``, copied
into a PostgreSQL 15 cluster the test starts (ingest/postgres_sink.py) and built there by the
same project (``D2B_ENGINE=postgres``); every table of the ``marts`` schema must hold the same
rows on both engines, apart from the columns that measure time to the build's clock.
Debian's PostgreSQL server binaries are needed (``make postgres-deps``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from d2b.settings import Settings
from ingest.postgres_sink import copy_sources_to_postgres
from tests.conftest import SAMPLE_AS_OF
from tests.pipeline_runs import FIRM_BY_HAND, FIRM_BY_HAND_AS_OF
from tests.support.engine_comparison import (
    dbt_build,
    differing_marts,
    load_and_build_on_duckdb,
)
from tests.support.tryton_server import PostgresCluster, free_port

pytestmark = pytest.mark.slow


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


def _build_on_both_engines(
    landing: Path, as_of: date, home: Path, cluster: PostgresCluster, database: str
) -> tuple[Path, dict[str, object]]:
    warehouse = load_and_build_on_duckdb(landing, as_of, home)
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
    dbt_build(postgres_env, as_of, home / "target_postgres")
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
    pg = psycopg2.connect(**connection)

    def postgres_rows(table: str, columns: list[str]) -> list[tuple]:
        with pg.cursor() as cur:
            cur.execute(f"select {', '.join(columns)} from marts.{table}")
            return cur.fetchall()

    try:
        differing = differing_marts(warehouse, postgres_rows)
    finally:
        pg.close()
    assert not differing, "\n".join(differing)
