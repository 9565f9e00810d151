"""Analysts' snapshots bound to their entitlement scope (docs/access.md).

SQL or MetricFlow over the serving snapshot reads every row, so each ``analyst`` grant of the
access file gets a snapshot of its own, rebuilt from the serving snapshot at every publish:
``<serving>/scoped/<dimension>-<values>.duckdb`` (:func:`scoped_path`), the marts with only
the rows inside the grant's scope. A table keeps a row when the row's value of the scope's
dimension is granted, read from the column the dashboards' data module reads
(:data:`dashboards.access.SCOPE_COLUMNS`: region, legal_entity, client_name, practice) or,
without it, through the first key (:data:`KEYS`) whose dimension table carries that column:
a fact's region is its legal entity's, as on the dashboards. A table with neither is left
out (fail closed), and so are the ``ops`` and ``quarantine`` schemas (bookkeeping and
rejected source rows); only :data:`UNSCOPED_TABLES`, which hold no client's records, are
copied whole. Files of scopes no grant names any more are deleted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import duckdb

from dashboards.access import SCOPE_COLUMNS, AccessPolicy, Scope

SCOPED = "scoped"
#: Marts without any client's records or money: copied whole into every scoped snapshot.
UNSCOPED_TABLES = frozenset(
    {
        "dim_calendar",
        "metricflow_time_spine",
        "pipeline_health_assets",
        "pipeline_health_checks",
        "pipeline_health_runs",
        "pipeline_health_sources",
    }
)
#: Key column -> the dimension table it names a row of, tried in this order.
KEYS = (
    ("legal_entity", "dim_legal_entities"),
    ("client_id", "dim_clients"),
    ("resource_id", "dim_resources"),
    ("contract_id", "dim_contracts"),
    ("project_id", "dim_projects"),
)


def analyst_scopes(policy: AccessPolicy) -> list[Scope]:
    """The distinct scopes of the policy's analyst grants, in file order."""
    scopes = [grant.scope for grant in policy.grants if grant.role == "analyst"]
    return list(dict.fromkeys(scopes))


def scoped_path(serving_dir: Path, scope: Scope) -> Path:
    """The file of ``scope``'s snapshot: ``scoped/regions-emea.duckdb``, values joined by ``+``."""
    if scope.dimension is None:
        raise ValueError("an unbounded scope reads the serving snapshot itself")
    values = "+".join(_slug(value) for value in sorted(scope.values))
    return serving_dir / SCOPED / f"{scope.dimension}-{values}.duckdb"


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "-"


def row_filter(scope: Scope, table: str, marts: Mapping[str, Collection[str]]) -> str | None:
    """SQL condition keeping ``table``'s rows inside ``scope`` (None: leave the table out).

    ``marts`` maps each table of the snapshot's marts to its columns; the condition binds the
    scope's values as ``$values`` and reads dimension tables from schema ``source.marts``.
    """
    if scope.dimension is None or table in UNSCOPED_TABLES:
        return "true"
    column = SCOPE_COLUMNS[scope.dimension]
    if column in marts[table]:
        return f'list_contains($values, "{column}")'
    for key, dimension_table in KEYS:
        if (
            key in marts[table]
            and dimension_table != table
            and column in marts.get(dimension_table, ())
        ):
            return (
                f'"{key}" in (select "{key}" from source.marts."{dimension_table}" '
                f'where list_contains($values, "{column}"))'
            )
    return None


def publish_scoped(snapshot_path: Path, serving_dir: Path, scopes: Iterable[Scope]) -> list[Path]:
    """Write each scope's snapshot from the serving snapshot at ``snapshot_path``.

    Each file is written beside its target and swapped in with ``os.replace``, so an analyst
    never opens half a file; files of other scopes are deleted. Returns the files written.
    """
    folder = serving_dir / SCOPED
    scopes = list(dict.fromkeys(scopes))
    paths = [scoped_path(serving_dir, scope) for scope in scopes]
    for path in {p for p in paths if paths.count(p) > 1}:
        # one file per scope: two scopes sharing it would show one analyst the other's rows
        clash = " and ".join(s.describe() for s, p in zip(scopes, paths, strict=True) if p == path)
        raise ValueError(f"analyst grants {clash} would share {path.name}: rename a value")
    if scopes:
        folder.mkdir(parents=True, exist_ok=True)
    written = [_write_scoped(snapshot_path, scoped_path(serving_dir, s), s) for s in scopes]
    for stale in set(folder.glob("*.duckdb")) - set(written):
        stale.unlink()
    return written


def _write_scoped(snapshot_path: Path, target: Path, scope: Scope) -> Path:
    partial = target.with_suffix(".duckdb.part")
    partial.unlink(missing_ok=True)
    with duckdb.connect(str(partial)) as con:
        con.execute(f"ATTACH '{_sql_path(snapshot_path)}' AS source (READ_ONLY)")
        columns: dict[str, list[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = 'source' AND table_schema = 'marts' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(table, []).append(column)
        con.execute("CREATE SCHEMA marts")
        for table in columns:
            condition = row_filter(scope, table, columns)
            if condition is None:
                continue
            statement = (
                f'CREATE TABLE marts."{table}" AS SELECT * FROM source.marts."{table}" '
                f"WHERE {condition}"
            )
            if "$values" in condition:
                con.execute(statement, {"values": sorted(scope.values)})
            else:
                con.execute(statement)
        con.execute("DETACH source")
    os.replace(partial, target)
    return target


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
