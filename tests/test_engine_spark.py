"""The dbt project on Apache Spark builds the same marts as on DuckDB, row for row.

The firm written by hand is loaded into a DuckDB warehouse by ingest and built there; its
source tables go to a Parquet lake registered on a Spark Thrift server the test starts
(``d2b services``' own code, d2b/services.py; ingest/spark_sink.py), and the same project is
built there (``D2B_ENGINE=spark``). Every table of ``marts`` must hold the same rows on both
engines, apart from the columns that measure time to the build's clock. The Spark marts are
read from their Parquet files (the Thrift server's warehouse directory), so both sides are
compared with DuckDB's types. Needs Java 17 (Debian's openjdk-17-jre-headless).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from d2b.services import Service
from d2b.settings import Settings
from ingest.spark_sink import export_sources_to_spark
from tests.pipeline_runs import FIRM_BY_HAND, FIRM_BY_HAND_AS_OF
from tests.support.engine_comparison import (
    dbt_build,
    differing_marts,
    load_and_build_on_duckdb,
)
from tests.support.tryton_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.long]


@pytest.fixture(scope="module")
def spark(tmp_path_factory) -> Iterator[Service]:
    """A Spark Thrift server of the test's own on a free port, stopped at the end."""
    service = Service("spark", tmp_path_factory.mktemp("spark-home"), free_port())
    try:
        service.start()
        yield service
    finally:
        service.stop()


def test_every_mart_is_the_same_on_spark_as_on_duckdb(tmp_path, spark: Service) -> None:
    warehouse = load_and_build_on_duckdb(FIRM_BY_HAND, FIRM_BY_HAND_AS_OF, tmp_path)
    spark_env = {
        "D2B_ENGINE": "spark",
        "D2B_HOME": str(tmp_path),
        "D2B_SPARK_PORT": str(spark.port),
    }
    settings = Settings.from_env(spark_env)
    assert settings.dbt.lake == tmp_path / "lake"
    counted = export_sources_to_spark(
        warehouse, settings.dbt.lake, settings.dbt.spark_host, int(settings.dbt.spark_port)
    )
    assert counted["raw.harvest__time_entries"] > 0
    dbt_build(spark_env, FIRM_BY_HAND_AS_OF, tmp_path / "target_spark")

    marts_dir = spark.directory / "warehouse" / "marts.db"

    def spark_rows(table: str, columns: list[str]) -> list[tuple]:
        files = Path(marts_dir, table)
        assert files.is_dir(), f"Spark built no table marts.{table}"
        with duckdb.connect() as con:
            return con.execute(
                f"select {', '.join(columns)} from read_parquet('{files}/*.parquet')"
            ).fetchall()

    differing = differing_marts(warehouse, spark_rows)
    assert not differing, "\n".join(differing)
