"""The PostgreSQL sink: the warehouse's source tables copied into a PostgreSQL database.

With ``D2B_ENGINE=postgres`` dbt builds on PostgreSQL (docs/scale.md). Ingest still parses,
validates and stores into the DuckDB warehouse (parsing unchanged); before the dbt build,
:func:`copy_sources_to_postgres` replaces every table of the schemas dbt reads its sources
from (``raw``, ``quarantine``, ``ops``) in PostgreSQL by the warehouse's, in one transaction,
through ``COPY ... FROM STDIN`` (CSV written by DuckDB). The schema names are the same on
both engines, so the sources' ``schema:`` holds for both.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from ingest.schema import quote_identifier

#: The schemas dbt's sources point at (models/staging/*/_*__sources.yml).
SOURCE_SCHEMAS = ("raw", "quarantine", "ops")

#: DuckDB column types whose PostgreSQL name differs (others keep their name: BIGINT, DATE,
#: BOOLEAN, TIMESTAMP, DECIMAL(p,s), ...).
_POSTGRES_TYPES = {
    "VARCHAR": "text",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(38, 0)",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "BLOB": "bytea",
    "JSON": "json",
}
_LIST_TYPE = re.compile(r"^(.+)\[\]$")


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type of a DuckDB column type (a list becomes an array)."""
    element = _LIST_TYPE.match(duckdb_type)
    if element:
        return postgres_type(element.group(1)) + "[]"
    if duckdb_type.startswith(("STRUCT", "MAP", "UNION")):
        raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type}")
    return _POSTGRES_TYPES.get(duckdb_type, duckdb_type.lower())


def exported_column(column: str, duckdb_type: str) -> str:
    """The select expression writing a column as PostgreSQL's CSV COPY reads it."""
    name = quote_identifier(column)
    if _LIST_TYPE.match(duckdb_type):
        # an array literal: {"a","b"}, elements quoted and escaped, null elements NULL
        element = (
            "CASE WHEN x IS NULL THEN 'NULL' ELSE '\"' || "
            "replace(replace(CAST(x AS VARCHAR), '\\', '\\\\'), '\"', '\\\"') || '\"' END"
        )
        return f"'{{' || array_to_string(list_transform({name}, lambda x: {element}), ',') || '}}'"
    return name


def source_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """``schema.table`` -> its columns (name, DuckDB type) in order, for the source schemas."""
    rows = con.execute(
        "SELECT table_schema, table_name, column_name, data_type "
        "FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema IN (?, ?, ?) "
        "ORDER BY table_schema, table_name, ordinal_position",
        list(SOURCE_SCHEMAS),
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, type_ in rows:
        tables.setdefault(f"{schema}.{table}", []).append((column, type_))
    return tables


def copy_sources_to_postgres(warehouse: Path, connection: Mapping[str, Any]) -> dict[str, int]:
    """Replace the source schemas' tables in PostgreSQL by the DuckDB warehouse's.

    ``connection``: psycopg2 connection keywords (``DbtSettings.postgres_connection``).
    Every table is dropped and created again with the warehouse's columns, then filled by
    COPY, all in one transaction: dbt never sees a half-copied source. Returns the rows
    copied per ``schema.table``.
    """
    import psycopg2

    copied: dict[str, int] = {}
    with (
        duckdb.connect(str(warehouse), read_only=True) as con,
        tempfile.TemporaryDirectory(prefix="d2b-copy-") as scratch,
    ):
        pg = psycopg2.connect(**connection)
        try:
            with pg, pg.cursor() as cur:
                for schema in SOURCE_SCHEMAS:
                    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                for qualified, columns in source_tables(con).items():
                    schema, table = qualified.split(".")
                    target = f"{schema}.{quote_identifier(table)}"
                    ddl = ", ".join(
                        f"{quote_identifier(name)} {postgres_type(type_)}"
                        for name, type_ in columns
                    )
                    cur.execute(f"DROP TABLE IF EXISTS {target} CASCADE")
                    cur.execute(f"CREATE TABLE {target} ({ddl})")
                    csv = Path(scratch) / f"{schema}.{table}.csv"
                    select = ", ".join(exported_column(name, type_) for name, type_ in columns)
                    # DuckDB quotes an empty string and leaves NULL unquoted and empty,
                    # which is how PostgreSQL's CSV COPY tells them apart.
                    con.execute(
                        f"COPY (SELECT {select} FROM {target}) TO '{csv}' "
                        "(FORMAT csv, HEADER false)"
                    )
                    with csv.open("rb") as data:
                        cur.copy_expert(f"COPY {target} FROM STDIN WITH (FORMAT csv)", data)
                    copied[qualified] = cur.rowcount
                    csv.unlink()
        finally:
            pg.close()
    return copied
