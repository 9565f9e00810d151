"""The PostgreSQL sink's types and CSV, without a server (the copy itself:
tests/test_engine_postgres.py)."""

from __future__ import annotations

import csv

import duckdb
import pytest

from ingest.postgres_sink import exported_column, postgres_type


def test_duckdb_types_map_to_postgres_types() -> None:
    assert postgres_type("VARCHAR") == "text"
    assert postgres_type("DOUBLE") == "double precision"
    assert postgres_type("DECIMAL(18,2)") == "decimal(18,2)"
    assert postgres_type("VARCHAR[]") == "text[]"
    assert postgres_type("TIMESTAMP WITH TIME ZONE") == "timestamptz"
    with pytest.raises(ValueError, match="no PostgreSQL type"):
        postgres_type("STRUCT(a INTEGER)")


def test_csv_tells_empty_from_null_and_writes_lists_as_array_literals(tmp_path) -> None:
    con = duckdb.connect()
    con.execute(
        "create table t as select * from (values "
        """('', ['a', 'b"c\\d', null]::varchar[]), """
        "(null, null), "
        "('x,y', []::varchar[])) as v (text_value, list_value)"
    )
    columns = [("text_value", "VARCHAR"), ("list_value", "VARCHAR[]")]
    select = ", ".join(exported_column(name, type_) for name, type_ in columns)
    out = tmp_path / "t.csv"
    con.execute(f"copy (select {select} from t) to '{out}' (format csv, header false)")
    lines = out.read_text().splitlines()
    # PostgreSQL's CSV COPY: a quoted empty field is '', an unquoted one NULL
    assert lines[0].startswith('"",') and lines[1] == ","
    assert next(csv.reader([lines[0]]))[1] == '{"a","b\\"c\\\\d",NULL}'
    assert next(csv.reader([lines[2]])) == ["x,y", "{}"]


def test_steps_reading_duckdb_marts_refuse_another_engine() -> None:
    from d2b.settings import Settings

    Settings.from_env({}).dbt.require_duckdb_marts("billing")
    postgres = Settings.from_env({"D2B_ENGINE": "postgres"}).dbt
    with pytest.raises(ValueError, match="billing reads the DuckDB warehouse's marts"):
        postgres.require_duckdb_marts("billing")
