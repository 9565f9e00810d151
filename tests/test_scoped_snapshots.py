"""Analysts' snapshots bound to their scope (issue 24): no row outside the grant.

On a hand-written two-region firm published through ``serving.snapshot.publish`` (each
expected row written out from the definition in docs/access.md), and on the default sample
firm's snapshot, where every table of each region's snapshot is checked against the whole
snapshot with SQL of its own.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dashboards.access import Scope, parse_policy
from ingest.warehouse import connect
from serving.scoped import UNSCOPED_TABLES, analyst_scopes, publish_scoped, scoped_path
from serving.snapshot import publish

NA = Scope("regions", frozenset({"NA"}))


def two_region_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """US01 (NA) and DE01 (EMEA); Acme bills through US01, Bosch through DE01."""
    con = connect(path)
    for schema in ("marts", "ops"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE marts.dim_legal_entities AS "
        "SELECT * FROM (VALUES ('US01', 'NA'), ('DE01', 'EMEA')) t(legal_entity, region)"
    )
    con.execute(
        "CREATE TABLE marts.dim_clients AS SELECT * FROM (VALUES "
        "('c1', 'Acme', 'US01'), ('c2', 'Bosch', 'DE01')) t(client_id, client_name, legal_entity)"
    )
    con.execute(
        "CREATE TABLE marts.dim_resources AS SELECT * FROM (VALUES "
        "('r1', 'Data', 'NA'), ('r2', 'Cloud', 'EMEA')) t(resource_id, practice, region)"
    )
    # te3: a US01 entry of the EMEA-based worker r2 for Bosch; te4: no entity (never shown)
    con.execute(
        "CREATE TABLE marts.fct_time_entries AS SELECT * FROM (VALUES "
        "('te1', 'US01', 'c1', 'r1', 8.0), ('te2', 'DE01', 'c2', 'r2', 4.0), "
        "('te3', 'US01', 'c2', 'r2', 2.0), ('te4', NULL, 'c1', 'r1', 1.0)) "
        "t(correlation_id, legal_entity, client_id, resource_id, hours)"
    )
    con.execute("CREATE TABLE marts.unbilled_by_contract AS SELECT 'k1' AS contract_id, 5 AS v")
    con.execute("CREATE TABLE marts.metricflow_time_spine AS SELECT DATE '2026-01-01' AS date_day")
    con.execute("CREATE TABLE ops.dbt_incremental_scope AS SELECT 'te2' AS correlation_id")
    return con


def tables_of(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {
            f"{schema}.{table}": sorted(con.execute(f"SELECT * FROM {schema}.{table}").fetchall())
            for schema, table in names
        }


def test_an_analysts_snapshot_holds_only_rows_of_their_scope(tmp_path):
    serving = tmp_path / "serving"
    scopes = [
        NA,
        Scope("legal_entities", frozenset({"DE01"})),
        Scope("clients", frozenset({"Bosch"})),
        Scope("practices", frozenset({"Data"})),
    ]
    with two_region_warehouse(tmp_path / "w.duckdb") as con:
        publish(con, serving, analyst_scopes=scopes)
    na, de01, bosch, data = (tables_of(scoped_path(serving, s)) for s in scopes)

    def ids(tables):
        return [row[0] for row in tables["marts.fct_time_entries"]]

    # region: the entity's region for facts and clients, the worker's own for a worker
    assert ids(na) == ["te1", "te3"]
    assert na["marts.dim_clients"] == [("c1", "Acme", "US01")]
    assert na["marts.dim_resources"] == [("r1", "Data", "NA")]
    assert na["marts.dim_legal_entities"] == [("US01", "NA")]
    assert ids(de01) == ["te2"]
    assert ids(bosch) == ["te2", "te3"]
    assert bosch["marts.dim_clients"] == [("c2", "Bosch", "DE01")]
    assert ids(data) == ["te1", "te4"]  # the worker's practice, entity or not
    assert "marts.dim_clients" not in data  # clients have no practice: left out
    for tables in (na, de01, bosch, data):
        # no dimension to bound it: left out; no client data: whole; bookkeeping: never
        assert "marts.unbilled_by_contract" not in tables
        assert tables["marts.metricflow_time_spine"] == [(date(2026, 1, 1),)]
        assert not any(name.startswith("ops.") for name in tables)
    assert sorted(p.name for p in (serving / "scoped").iterdir()) == [
        "clients-bosch.duckdb",
        "legal_entities-de01.duckdb",
        "practices-data.duckdb",
        "regions-na.duckdb",
    ]


def test_a_revoked_analyst_grant_loses_its_snapshot_at_the_next_publish(tmp_path):
    serving = tmp_path / "serving"
    policy = parse_policy(
        '[[grant]]\nrole = "analyst"\ngroups = ["a"]\nregions = ["NA"]\n'
        '[[grant]]\nrole = "analyst"\ngroups = ["b"]\nregions = ["NA"]\n'
        '[[grant]]\nrole = "regional_lead"\ngroups = ["c"]\nregions = ["EMEA"]\n'
    )
    assert analyst_scopes(policy) == [NA]  # one file per scope, analysts' grants only
    with two_region_warehouse(tmp_path / "w.duckdb") as con:
        publish(con, serving, analyst_scopes=analyst_scopes(policy))
        assert scoped_path(serving, NA).is_file()
        publish(con, serving, analyst_scopes=[])
    assert list((serving / "scoped").iterdir()) == []


def test_scoped_snapshot_names_are_readable_file_names(tmp_path):
    scope = Scope("clients", frozenset({"Acme Corp", "O'Brien & Sons"}))
    assert scoped_path(tmp_path, scope).name == "clients-acme-corp+o-brien-sons.duckdb"
    with pytest.raises(ValueError, match="unbounded"):
        scoped_path(tmp_path, Scope())
    twins = [Scope("clients", frozenset({"Acme Corp"})), Scope("clients", frozenset({"acme-corp"}))]
    with pytest.raises(ValueError, match="would share clients-acme-corp.duckdb"):
        publish_scoped(tmp_path / "snapshot.duckdb", tmp_path, twins)


def test_each_regions_snapshot_of_the_sample_firm_stays_in_its_region(sample_run, tmp_path):
    serving = sample_run.warehouse.parent / "serving"
    snapshot = serving / "snapshots" / json.loads((serving / "CURRENT").read_text())["file"]
    with duckdb.connect(str(snapshot), read_only=True) as whole:
        regions = [
            r
            for (r,) in whole.execute(
                "SELECT DISTINCT region FROM marts.dim_legal_entities"
            ).fetchall()
        ]
        entity_region = dict(
            whole.execute("SELECT legal_entity, region FROM marts.dim_legal_entities").fetchall()
        )
        (entries,) = whole.execute("SELECT count(*) FROM marts.fct_time_entries").fetchone()
    assert len(regions) >= 2
    scopes = [Scope("regions", frozenset({region})) for region in regions]
    written = publish_scoped(snapshot, tmp_path, scopes)
    scoped_entries = 0
    for scope, path in zip(scopes, written, strict=True):
        with duckdb.connect(str(path), read_only=True) as con:
            tables = [
                t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            ]
            assert "fct_time_entries" in tables and "fct_invoices" in tables
            for table in set(tables) - UNSCOPED_TABLES:
                columns = {
                    c
                    for (c,) in con.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                        [table],
                    ).fetchall()
                }
                if "region" in columns:
                    seen = {
                        r
                        for (r,) in con.execute(
                            f'SELECT DISTINCT region FROM marts."{table}"'
                        ).fetchall()
                    }
                elif "legal_entity" in columns:
                    seen = {
                        entity_region.get(e)
                        for (e,) in con.execute(
                            f'SELECT DISTINCT legal_entity FROM marts."{table}"'
                        ).fetchall()
                    }
                else:
                    continue
                assert seen <= scope.values, (scope, table, seen)
            (count,) = con.execute("SELECT count(*) FROM marts.fct_time_entries").fetchone()
            scoped_entries += count
    # the regions' snapshots together hold every time entry of a known entity, once
    with duckdb.connect(str(snapshot), read_only=True) as whole:
        (placed,) = whole.execute(
            "SELECT count(*) FROM marts.fct_time_entries "
            "JOIN marts.dim_legal_entities USING (legal_entity)"
        ).fetchone()
    assert scoped_entries == placed and placed <= entries
