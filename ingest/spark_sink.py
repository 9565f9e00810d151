"""The Spark sink: the warehouse's source tables as a Parquet lake registered as Spark tables.

With ``D2B_ENGINE=spark`` dbt builds on a Spark Thrift server (docs/scale.md). Ingest still
parses, validates and stores into the DuckDB warehouse (parsing unchanged); before the dbt
build, :func:`export_sources_to_spark` writes every table of the schemas dbt reads its sources
from (``raw``, ``quarantine``, ``ops``) as Parquet under ``<lake>/<schema>/<table>/`` and
registers each directory as an external Parquet table of the same name on the server. The
schema names are the same on both engines, so the sources' ``schema:`` holds for both.

This is the first step of the lake the design describes (one directory per load under
``<lake>/raw/<system>/<entity>/load_id=<id>/``): today the whole table is written again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from ingest.postgres_sink import SOURCE_SCHEMAS, source_tables
from ingest.schema import quote_identifier

#: DuckDB column types Spark cannot read from Parquet as they are, and what the lake stores:
#: an unsigned or 128-bit integer (Spark has neither) a wide enough signed type, a zoned
#: timestamp the UTC instant's wall time (as the warehouse's naive timestamps are), a time of
#: day and JSON their text, an interval its seconds (the models read it through
#: ``interval_seconds()``, macros/portability.sql).
_SPARK_COLUMN_TYPES = {
    "INTERVAL": "DECIMAL(18, 6)",
    "TIME": "VARCHAR",
    "JSON": "VARCHAR",
    "UTINYINT": "SMALLINT",
    "USMALLINT": "INTEGER",
    "UINTEGER": "BIGINT",
    "UBIGINT": "DECIMAL(20, 0)",
    "HUGEINT": "DECIMAL(38, 0)",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP_MS": "TIMESTAMP",
    "TIMESTAMP_S": "TIMESTAMP",
}


def _spark_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _exported_column(column: str, duckdb_type: str) -> str:
    name = quote_identifier(column)
    cast = _SPARK_COLUMN_TYPES.get(duckdb_type)
    if cast is None:
        return name
    if duckdb_type == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {name}) AS {name}"
    if duckdb_type == "INTERVAL":
        return f"CAST(extract(epoch FROM {name}) AS {cast}) AS {name}"
    return f"CAST({name} AS {cast}) AS {name}"


def write_source_lake(warehouse: Path, lake: Path) -> dict[str, Path]:
    """Write the source schemas' tables of ``warehouse`` as Parquet under ``lake``.

    Each table replaces ``<lake>/<schema>/<table>/`` (one file). Returns the directory per
    ``schema.table``.
    """
    written: dict[str, Path] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for qualified, columns in source_tables(con).items():
            schema, table = qualified.split(".")
            directory = lake / schema / table
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            select = ", ".join(_exported_column(name, type_) for name, type_ in columns)
            target = directory / "part-0.parquet"
            con.execute(
                f"COPY (SELECT {select} FROM {schema}.{quote_identifier(table)}) "
                f"TO '{target}' (FORMAT parquet)"
            )
            written[qualified] = directory
    return written


def export_sources_to_spark(warehouse: Path, lake: Path, host: str, port: int) -> dict[str, int]:
    """Write the lake (:func:`write_source_lake`) and register it on the Thrift server.

    Every source table is dropped and created again on the server as an external Parquet
    table over its directory (the server must see ``lake`` at the same path). Returns the rows
    per ``schema.table``, counted by Spark.
    """
    from pyhive import exc, hive

    def execute(statement: str) -> None:
        try:
            cursor.execute(statement)
        except exc.OperationalError as error:
            # the server's message, without the Java stack trace the response carries
            status = getattr(error.args[0], "status", None) if error.args else None
            message = getattr(status, "errorMessage", None) or str(error)[:500]
            raise RuntimeError(f"Spark refused {statement[:120]!r}: {message}") from None

    written = write_source_lake(warehouse, lake)
    counted: dict[str, int] = {}
    connection = hive.connect(host=host, port=port)
    try:
        cursor = connection.cursor()
        for schema in SOURCE_SCHEMAS:
            execute(f"CREATE DATABASE IF NOT EXISTS {schema}")
        for qualified, directory in written.items():
            schema, table = qualified.split(".")
            target = f"{schema}.{_spark_identifier(table)}"
            execute(f"DROP TABLE IF EXISTS {target}")
            execute(f"CREATE TABLE {target} USING parquet LOCATION '{directory}'")
            execute(f"SELECT count(*) FROM {target}")
            counted[qualified] = cursor.fetchone()[0]
    finally:
        connection.close()
    return counted
