"""The DuckDB warehouse file: connections and the bookkeeping schemas ingest writes.

``raw`` holds loaded rows, ``quarantine`` what was rejected and why, ``ops`` the landing
registry. dbt owns every other schema.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.schema import SourceSchema, quote_identifier, raw_table_columns

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.landed_files (
    load_id VARCHAR PRIMARY KEY,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    system VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    status VARCHAR NOT NULL,          -- loaded | rejected | duplicate | unrecognised
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    duplicate_of_load_id VARCHAR,     -- same bytes already loaded under another name
    supersedes_load_id VARCHAR,       -- earlier version of the same file, rows replaced
    loaded_at TIMESTAMP NOT NULL,
    file_mtime_ns BIGINT              -- the file's mtime when registered (null: older loads)
);
-- warehouses created before the column
ALTER TABLE ops.landed_files ADD COLUMN IF NOT EXISTS file_mtime_ns BIGINT;
CREATE TABLE IF NOT EXISTS quarantine.rejected_files (
    load_id VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    system VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    rejected_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine.rejected_rows (
    load_id VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    system VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    reason VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    payload JSON,
    rejected_at TIMESTAMP NOT NULL
);
"""


#: Pipeline history tables (written by the Dagster history asset, read by the health marts).
#: Created empty with the bookkeeping so dbt builds outside Dagster too (by hand, benchmarks).
PIPELINE_HISTORY_DDL = {
    "dagster_runs": "run_id VARCHAR, job_name VARCHAR, status VARCHAR, started_at TIMESTAMP, "
    "ended_at TIMESTAMP, duration_seconds DOUBLE, created_at TIMESTAMP",
    "dagster_asset_status": "asset_key VARCHAR, group_name VARCHAR, "
    "last_materialized_at TIMESTAMP, last_run_id VARCHAR, row_count BIGINT, "
    "freshness_warn_hours DOUBLE, freshness_fail_hours DOUBLE",
    "dagster_check_status": "asset_key VARCHAR, check_name VARCHAR, status VARCHAR, "
    "passed BOOLEAN, severity VARCHAR, evaluated_at TIMESTAMP, run_id VARCHAR",
}


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, creating its directory when writing."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Whether ``schema.table`` exists in the connection's database."""
    schema, table = qualified.split(".")
    (found,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()[0]
    return found > 0


def ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``raw``, ``quarantine`` and ``ops`` schemas and tables if absent."""
    con.execute(BOOKKEEPING_DDL)
    for table, columns in PIPELINE_HISTORY_DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS ops.{table} ({columns})")


def ensure_raw_table(con: duckdb.DuckDBPyConnection, schema: SourceSchema) -> str:
    """Create (or extend with newly declared columns) the raw table of ``schema``.

    Returns the quoted, schema-qualified table name.
    """
    table = f"raw.{quote_identifier(schema.raw_table)}"
    columns = raw_table_columns(schema)
    ddl = ", ".join(f"{quote_identifier(name)} {type_}" for name, type_ in columns)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")
    existing = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [schema.raw_table],
        ).fetchall()
    }
    for name, type_ in columns:
        if name not in existing:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_identifier(name)} {type_}")
    return table
