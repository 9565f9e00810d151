"""Versioned read-only serving snapshots of the marts (docs/design.md §7).

DuckDB lets one process hold a database file for writing, and a reader blocks the writer.
So dashboards and analysts never open the warehouse: after a successful build, the publish
asset copies the published schemas into a new DuckDB file
``<serving>/snapshots/<version>.duckdb`` and then swaps the pointer file ``<serving>/CURRENT``
atomically (write a temporary file, ``os.replace``). Readers resolve the pointer and open
that version read-only; a reader still holding an older version is unaffected by the swap,
and the writer never waits for readers. The last ``keep`` versions are kept. Analysts'
snapshots bound to their scope are then rebuilt from the new version (``serving.scoped``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dashboards.access import Scope
from serving.scoped import publish_scoped

POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
#: Schemas copied into a snapshot: the analysts' public API plus pipeline bookkeeping.
PUBLISHED_SCHEMAS: tuple[str, ...] = ("marts", "ops", "quarantine")
DEFAULT_KEEP = 5


@dataclass(frozen=True)
class Snapshot:
    """One published version."""

    version: str
    path: Path
    built_at: datetime
    tables: dict[str, int]

    def to_json(self) -> str:
        """Pointer-file content describing this snapshot."""
        return json.dumps(
            {
                "version": self.version,
                "file": self.path.name,
                "built_at": self.built_at.isoformat(),
                "tables": self.tables,
            },
            indent=2,
            sort_keys=True,
        )


def publish(
    warehouse: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    *,
    schemas: Sequence[str] = PUBLISHED_SCHEMAS,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
    analyst_scopes: Sequence[Scope] = (),
) -> Snapshot:
    """Copy ``schemas`` of the open warehouse into a new snapshot and make it current.

    Then write one scoped snapshot per ``analyst_scopes`` (and delete those of other scopes).
    """
    built_at = now or datetime.now(UTC)
    version = built_at.strftime("%Y%m%dT%H%M%S%fZ")
    folder = serving_dir / SNAPSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{version}.duckdb"
    partial = target.with_suffix(".duckdb.part")  # remove_partials knows this name
    partial.unlink(missing_ok=True)

    tables: dict[str, int] = {}
    warehouse.execute(f"ATTACH '{_sql_path(partial)}' AS serving_snapshot")
    try:
        relations = warehouse.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema IN "
            f"({', '.join('?' for _ in schemas)}) ORDER BY 1, 2",
            list(schemas),
        ).fetchall()
        for schema in sorted({schema for schema, _ in relations}):
            warehouse.execute(f'CREATE SCHEMA IF NOT EXISTS serving_snapshot."{schema}"')
        for schema, table in relations:
            warehouse.execute(
                f'CREATE TABLE serving_snapshot."{schema}"."{table}" AS '
                f'SELECT * FROM "{schema}"."{table}"'
            )
            (rows,) = warehouse.execute(
                f'SELECT count(*) FROM serving_snapshot."{schema}"."{table}"'
            ).fetchone()
            tables[f"{schema}.{table}"] = rows
    finally:
        warehouse.execute("DETACH serving_snapshot")
    os.replace(partial, target)

    snapshot = Snapshot(version=version, path=target, built_at=built_at, tables=tables)
    pointer_tmp = serving_dir / f".{POINTER}.tmp"  # and this one
    pointer_tmp.write_text(snapshot.to_json())
    os.replace(pointer_tmp, serving_dir / POINTER)  # the atomic swap readers rely on
    prune(serving_dir, keep=keep)
    publish_scoped(target, serving_dir, analyst_scopes)
    return snapshot


def current(serving_dir: Path) -> Snapshot | None:
    """The snapshot the pointer names, or None before the first publish."""
    pointer = serving_dir / POINTER
    try:
        data = json.loads(pointer.read_text())
    except FileNotFoundError:
        return None
    return Snapshot(
        version=data["version"],
        path=serving_dir / SNAPSHOTS / data["file"],
        built_at=datetime.fromisoformat(data["built_at"]),
        tables=data.get("tables", {}),
    )


def connect_current(serving_dir: Path) -> tuple[duckdb.DuckDBPyConnection, Snapshot]:
    """Open the current snapshot read-only; raises FileNotFoundError before any publish."""
    snapshot = current(serving_dir)
    if snapshot is None:
        raise FileNotFoundError(f"no serving snapshot published under {serving_dir} yet")
    return duckdb.connect(str(snapshot.path), read_only=True), snapshot


def prune(serving_dir: Path, keep: int = DEFAULT_KEEP) -> list[Path]:
    """Delete all but the newest ``keep`` snapshots (never the current one)."""
    live = current(serving_dir)
    versions = sorted((serving_dir / SNAPSHOTS).glob("*.duckdb"), reverse=True)
    removed = []
    for path in versions[max(keep, 1) :]:
        if live is not None and path == live.path:
            continue
        # Readers that still hold the file keep reading it: unlinking does not close it.
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def remove_partials(serving_dir: Path) -> list[Path]:
    """Delete what a publish killed half-way left: a partial snapshot, a pointer not swapped in.

    Call it only while no publish can run (the writer pool is free): a live publish's partial
    file looks the same.
    """
    leftovers = [
        *sorted((serving_dir / SNAPSHOTS).glob("*.duckdb.part*")),  # with its .wal
        *[serving_dir / f".{POINTER}.tmp"],
    ]
    removed = [path for path in leftovers if path.exists()]
    for path in removed:
        path.unlink()
    return removed


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
