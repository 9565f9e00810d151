"""Load the landing zone into the warehouse: each file once, nothing lost.

For every file under ``<landing>/<system>/<entity>/``:

* bytes already loaded under the same name: nothing happens (re-runs are no-ops);
* bytes already loaded under another name: recorded as a ``duplicate``, no rows loaded;
* a new version of a file loaded before: its rows replace the earlier version's rows;
* otherwise the file is parsed, valid rows go to ``raw``, invalid rows to
  ``quarantine.rejected_rows`` with a reason, and a file that cannot be read at all to
  ``quarantine.rejected_files``.

Each file loads in its own transaction, so a crash leaves either all or none of it, and
the invariant *rows read = rows loaded + rows rejected* is checked before committing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.landing import LandedFile, discover
from ingest.schema import quote_identifier
from ingest.sinks import BatchCounts, DuckDBSink, LoadContext
from ingest.sources import SOURCE_ENTITIES, FileRejected, SourceEntity
from ingest.warehouse import ensure_bookkeeping

LOADED = "loaded"
REJECTED = "rejected"
DUPLICATE = "duplicate"
UNCHANGED = "unchanged"
UNRECOGNISED = "unrecognised"


class LoadInvariantError(RuntimeError):
    """Rows read did not equal rows loaded plus rows rejected; the load was rolled back."""


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one landed file."""

    relative_path: str
    system: str
    entity: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    load_id: str | None = None
    reason: str | None = None
    detail: str | None = None


@dataclass
class LoadReport:
    """Outcome of one pass over the landing zone."""

    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Number of files that ended with ``status``."""
        return sum(1 for outcome in self.files if outcome.status == status)

    @property
    def rows_read(self) -> int:
        """Rows read from files loaded in this pass."""
        return sum(outcome.rows_read for outcome in self.files)

    @property
    def rows_loaded(self) -> int:
        """Rows written to ``raw`` in this pass."""
        return sum(outcome.rows_loaded for outcome in self.files)

    @property
    def rows_rejected(self) -> int:
        """Rows written to ``quarantine.rejected_rows`` in this pass."""
        return sum(outcome.rows_rejected for outcome in self.files)

    def rejected_file_reasons(self) -> dict[str, int]:
        """Files rejected whole in this pass, counted by reason."""
        return dict(Counter(o.reason for o in self.files if o.status == REJECTED and o.reason))

    def summary(self) -> dict[str, int]:
        """Counts by file status plus row totals, for logs and metadata."""
        statuses = (LOADED, REJECTED, DUPLICATE, UNCHANGED, UNRECOGNISED)
        return {
            **{f"files_{status}": self.count(status) for status in statuses},
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
        }


def load_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    *,
    system: str | None = None,
    entities: Mapping[tuple[str, str], SourceEntity] = SOURCE_ENTITIES,
    clock: Callable[[], datetime] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> LoadReport:
    """Load every new file of ``landing`` (or of one ``system``) into the warehouse."""
    ensure_bookkeeping(con)
    now = clock or _utc_now
    report = LoadReport()
    for landed in discover(landing, system):
        outcome = load_file(con, landed, entities=entities, ingested_at=now())
        report.files.append(outcome)
        if on_file is not None:
            on_file(outcome)
    return report


def load_file(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    *,
    entities: Mapping[tuple[str, str], SourceEntity] = SOURCE_ENTITIES,
    ingested_at: datetime,
) -> FileOutcome:
    """Load one landed file (see the module docstring for the rules)."""
    entity = entities.get((landed.system, landed.entity))
    if entity is None or not entity.accepts(landed.path):
        # Not registered: left in place, so a later release that reads it still loads it.
        return FileOutcome(landed.relative_path, landed.system, landed.entity, UNRECOGNISED)

    sha256 = landed.sha256()
    seen = con.execute(
        "SELECT load_id, source_file, status FROM ops.landed_files WHERE file_sha256 = ? "
        "AND status IN ('loaded', 'rejected') ORDER BY loaded_at LIMIT 1",
        [sha256],
    ).fetchone()
    same_name = con.execute(
        "SELECT 1 FROM ops.landed_files WHERE file_sha256 = ? AND source_file = ?",
        [sha256, landed.relative_path],
    ).fetchone()
    if same_name:
        return FileOutcome(landed.relative_path, landed.system, landed.entity, UNCHANGED)

    load_id = f"{ingested_at:%Y%m%dT%H%M%S%f}-{sha256[:12]}"
    load = LoadContext(load_id, landed.relative_path, sha256, ingested_at)
    con.begin()
    try:
        if seen is not None:
            outcome = FileOutcome(
                landed.relative_path,
                landed.system,
                landed.entity,
                DUPLICATE,
                load_id=load_id,
                detail=f"same bytes as {seen[1]}",
            )
            _register(con, landed, load, outcome, duplicate_of=seen[0])
        else:
            outcome = _parse_and_store(con, entity, landed, load)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return outcome


def _parse_and_store(
    con: duckdb.DuckDBPyConnection, entity: SourceEntity, landed: LandedFile, load: LoadContext
) -> FileOutcome:
    previous = con.execute(
        "SELECT load_id FROM ops.landed_files WHERE source_file = ? AND status = 'loaded' "
        "ORDER BY loaded_at DESC LIMIT 1",
        [landed.relative_path],
    ).fetchone()
    sink = DuckDBSink(con)
    totals = BatchCounts()
    try:
        for batch in entity.parse(landed.path):
            counts = sink.write(entity.schema, batch, load)
            totals.read += counts.read
            totals.loaded += counts.loaded
            totals.rejected += counts.rejected
    except FileRejected as rejection:
        # Drop whatever part of the file was stored before the reader failed.
        con.rollback()
        con.begin()
        outcome = FileOutcome(
            landed.relative_path,
            landed.system,
            landed.entity,
            REJECTED,
            load_id=load.load_id,
            reason=rejection.reason,
            detail=rejection.detail,
        )
        con.execute(
            "INSERT INTO quarantine.rejected_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                load.load_id,
                load.source_file,
                load.file_sha256,
                landed.system,
                landed.entity,
                rejection.reason,
                rejection.detail,
                load.ingested_at,
            ],
        )
        _register(con, landed, load, outcome)
        return outcome

    superseded = previous[0] if previous else None
    if superseded is not None:
        table = f"raw.{quote_identifier(entity.schema.raw_table)}"
        con.execute(f"DELETE FROM {table} WHERE _load_id = ?", [superseded])
    _check_invariant(con, entity, load.load_id, totals)
    outcome = FileOutcome(
        landed.relative_path,
        landed.system,
        landed.entity,
        LOADED,
        rows_read=totals.read,
        rows_loaded=totals.loaded,
        rows_rejected=totals.rejected,
        load_id=load.load_id,
    )
    _register(con, landed, load, outcome, supersedes=superseded)
    return outcome


def _check_invariant(
    con: duckdb.DuckDBPyConnection, entity: SourceEntity, load_id: str, totals: BatchCounts
) -> None:
    table = f"raw.{quote_identifier(entity.schema.raw_table)}"
    (loaded,) = con.execute(
        f"SELECT count(*) FROM {table} WHERE _load_id = ?", [load_id]
    ).fetchone()
    (rejected,) = con.execute(
        "SELECT count(*) FROM quarantine.rejected_rows WHERE load_id = ?", [load_id]
    ).fetchone()
    if loaded + rejected != totals.read or loaded != totals.loaded:
        raise LoadInvariantError(
            f"load {load_id}: read {totals.read} rows but stored {loaded} + rejected {rejected}"
        )


def _register(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    load: LoadContext,
    outcome: FileOutcome,
    *,
    duplicate_of: str | None = None,
    supersedes: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO ops.landed_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load.load_id,
            landed.relative_path,
            load.file_sha256,
            landed.system,
            landed.entity,
            landed.size_bytes,
            outcome.status,
            outcome.rows_read,
            outcome.rows_loaded,
            outcome.rows_rejected,
            duplicate_of,
            supersedes,
            load.ingested_at,
        ],
    )


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
