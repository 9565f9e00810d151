"""Load the landing zone into the warehouse: each file once, nothing lost.

For every file under ``<landing>/<system>/<entity>/``:

* the bytes of its latest version under the same name: nothing happens (re-runs are no-ops). A file
  whose size and modification time equal those its latest registration noted is known
  unchanged without being read again (unless it was written within two seconds of being
  read then), so a daily run reads the day's files, not the whole history;
* bytes another file's latest version holds: recorded as a ``duplicate``, no rows loaded;
* a new version of a file loaded before (earlier bytes again too): its rows replace the
  earlier version's rows;
* a symbolic link out of the landing zone: rejected without being read;
* the pages of a Harvest export run that is not complete: rejected as ``incomplete_export``
  and read again when another page of the run lands;
* otherwise the file is parsed, valid rows go to ``raw``, invalid rows to
  ``quarantine.rejected_rows`` with a reason, and a file that cannot be read at all to
  ``quarantine.rejected_files``.

Each file loads in its own transaction, so a crash leaves either all or none of it, and
the invariant *rows read = rows loaded + rows rejected* is checked before committing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingest.landing import LandedFile, discover, export_run, page_number
from ingest.schema import CONFLICTING_VERSION, SourceSchema, quote_identifier, quote_literal
from ingest.sinks import BatchCounts, DuckDBSink, LoadContext
from ingest.sources import SOURCE_ENTITIES, FileRejected, SourceEntity
from ingest.sources.base import INCOMPLETE_EXPORT, OUTSIDE_LANDING_ZONE, ListPage
from ingest.warehouse import ensure_bookkeeping, ensure_raw_table

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


#: Most files, and bytes, one query reads for formats that read several files at once.
BATCH_FILES = 200
BATCH_BYTES = 256 << 20
#: Batches parsed ahead of the one being written (each parse runs on its own core).
PARSE_WORKERS = 2
#: A file modified this close to the moment it is read keeps no trusted mtime (see below).
_RACY_NS = 2_000_000_000


def load_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    *,
    system: str | None = None,
    entities: Mapping[tuple[str, str], SourceEntity] = SOURCE_ENTITIES,
    clock: Callable[[], datetime] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
) -> LoadReport:
    """Load every new file of ``landing`` (or of one ``system``) into the warehouse.

    Files of one entity are read in batches: one query per batch, parsed in worker
    threads ahead of the writer, and written in one transaction per batch. A batch in which
    some file cannot be read is split in halves down to that file, so one bad file never
    blocks the others.
    """
    ensure_bookkeeping(con)
    for (entity_system, _), entity in entities.items():
        # Every registered entity has its raw table, so models build before its first file.
        if system is None or entity_system == system:
            ensure_raw_table(con, entity.schema)
    now = clock or _utc_now
    report = LoadReport()
    groups: dict[tuple[str, str], list[LandedFile]] = {}
    for landed in discover(landing, system):
        entity = entities.get((landed.system, landed.entity))
        if entity is None or not entity.accepts(landed.path):
            # Not registered: left in place, so a later release that reads it still loads it.
            outcome = FileOutcome(landed.relative_path, landed.system, landed.entity, UNRECOGNISED)
            _record(report, outcome, on_file)
            continue
        groups.setdefault((landed.system, landed.entity), []).append(landed)
    with ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="d2b-parse") as pool:
        for key, files in groups.items():
            for outcome in _load_entity(con, entities[key], files, now(), pool):
                _record(report, outcome, on_file)
    return report


def _record(
    report: LoadReport, outcome: FileOutcome, on_file: Callable[[FileOutcome], None] | None
) -> None:
    report.files.append(outcome)
    if on_file is not None:
        on_file(outcome)


@dataclass(frozen=True)
class _NewFile:
    landed: LandedFile
    load: LoadContext


def _load_entity(
    con: duckdb.DuckDBPyConnection,
    entity: SourceEntity,
    files: list[LandedFile],
    ingested_at: datetime,
    pool: ThreadPoolExecutor,
) -> Iterator[FileOutcome]:
    """Load the files of one entity; yield each file's outcome as it is committed."""
    new: list[_NewFile] = []
    duplicates: list[tuple[_NewFile, str, str]] = []
    seen_in_run: dict[str, tuple[str, str]] = {}
    prefix = f"{files[0].system}/{files[0].entity}/"
    registered = _registered_stats(con, entity_prefix=prefix)
    # Pages held back because their export run was incomplete: read again when a page of
    # their run arrives, else left as they are.
    incomplete = _incomplete_pages(con, prefix) if entity.paged else set()
    waiting: list[LandedFile] = []
    for landed in files:
        if registered.get(landed.relative_path) == (landed.size_bytes, landed.mtime_ns):
            # Registered with this size and mtime: unchanged without reading its bytes again,
            # so a daily run costs the new files, not the whole history.
            if landed.relative_path in incomplete:
                waiting.append(landed)
                continue
            yield FileOutcome(landed.relative_path, landed.system, landed.entity, UNCHANGED)
            continue
        hashed_at_ns = time.time_ns()
        sha256 = landed.sha256()
        if landed.mtime_ns is not None and landed.mtime_ns > hashed_at_ns - _RACY_NS:
            # Written moments before it was read: a rewrite of the same size within the
            # file system's clock tick would keep this mtime, so never trust it (git's
            # "racy" rule); the file is hashed again next run, and its mtime noted then.
            landed = replace(landed, mtime_ns=None)
        load = _load_context(landed, sha256, ingested_at)
        if con.execute(
            "SELECT 1 FROM ops.landed_files WHERE source_file = ? "
            "QUALIFY row_number() OVER (ORDER BY loaded_at DESC) = 1 AND file_sha256 = ?",
            [landed.relative_path, sha256],
        ).fetchall():
            # The bytes of its latest version (its mtime changed, or it was registered before
            # mtimes were): note the mtime so the next run need not hash it. Bytes of an
            # earlier version (a file reverted) are a new version again, below.
            con.execute(
                "UPDATE ops.landed_files SET file_mtime_ns = ? "
                "WHERE source_file = ? AND file_sha256 = ? AND loaded_at = ("
                "SELECT max(loaded_at) FROM ops.landed_files WHERE source_file = ?)",
                [landed.mtime_ns, landed.relative_path, sha256, landed.relative_path],
            )
            if landed.relative_path in incomplete:
                waiting.append(landed)
                continue
            yield FileOutcome(landed.relative_path, landed.system, landed.entity, UNCHANGED)
            continue
        if landed.escapes_to is not None:
            yield _refuse_escaping_link(con, landed, load)
            continue
        seen = con.execute(
            # Another file whose latest version has these bytes: a copy of a superseded
            # version is no duplicate, it is the newest version of its content.
            "SELECT load_id, source_file FROM ops.landed_files WHERE source_file IN ("
            "SELECT source_file FROM ops.landed_files WHERE file_sha256 = ?) "
            "QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY loaded_at DESC) = 1 "
            "AND file_sha256 = ? AND status IN ('loaded', 'rejected') AND source_file <> ? "
            "ORDER BY loaded_at LIMIT 1",
            [sha256, sha256, landed.relative_path],
        ).fetchall()
        original = seen[0] if seen else seen_in_run.get(sha256)
        if original is not None:
            duplicates.append((_NewFile(landed, load), *original))
            continue
        seen_in_run[sha256] = (load.load_id, landed.relative_path)
        new.append(_NewFile(landed, load))

    runs_with_new = {export_run(item.landed.relative_path) for item in new}
    for landed in waiting:
        if export_run(landed.relative_path) not in runs_with_new:
            yield FileOutcome(landed.relative_path, landed.system, landed.entity, UNCHANGED)
            continue
        new.append(_NewFile(landed, _load_context(landed, landed.sha256(), ingested_at)))
    new.sort(key=lambda item: item.landed.relative_path)  # the pages of a run side by side

    batches = _batches(
        new,
        batchable=entity.reader.batchable,
        run_of=_export_run_of if entity.paged else None,
    )
    pending: deque[tuple[list[_NewFile], Future[_Parsed]]] = deque()
    for index, batch in enumerate(batches):
        pending.append((batch, pool.submit(_parse, entity, batch)))
        if index + 1 < PARSE_WORKERS:
            continue
        yield from _store(con, entity, *pending.popleft())
    while pending:
        yield from _store(con, entity, *pending.popleft())
    # After the originals: a duplicate never points at a load that is not committed.
    if duplicates:
        con.begin()
        try:
            outcomes = []
            for item, original_load_id, original_file in duplicates:
                outcome = FileOutcome(
                    item.landed.relative_path,
                    item.landed.system,
                    item.landed.entity,
                    DUPLICATE,
                    load_id=item.load.load_id,
                    detail=f"same bytes as {original_file}",
                )
                _register(con, item.landed, item.load, outcome, duplicate_of=original_load_id)
                outcomes.append(outcome)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        yield from outcomes


def _export_run_of(item: _NewFile) -> str:
    return export_run(item.landed.relative_path)


def _load_context(landed: LandedFile, sha256: str, ingested_at: datetime) -> LoadContext:
    return LoadContext(
        # Unique even for two files with the same bytes loaded at the same instant.
        f"{ingested_at:%Y%m%dT%H%M%S%f}-{sha256[:12]}-{uuid.uuid4().hex[:8]}",
        landed.relative_path,
        sha256,
        ingested_at,
    )


def _batches(
    files: list[_NewFile],
    *,
    batchable: bool,
    run_of: Callable[[_NewFile], str] | None = None,
) -> list[list[_NewFile]]:
    """Cut ``files`` into batches; with ``run_of``, the files of one export run share one."""
    if run_of is not None:
        runs: dict[str, list[_NewFile]] = {}
        for item in files:
            runs.setdefault(run_of(item), []).append(item)
        if not batchable:
            return list(runs.values())
    elif not batchable:
        return [[item] for item in files]
    batches: list[list[_NewFile]] = [[]]
    size = 0
    for index, item in enumerate(files):
        same_run = run_of is not None and index > 0 and run_of(files[index - 1]) == run_of(item)
        if (
            batches[-1]
            and not same_run
            and (len(batches[-1]) >= BATCH_FILES or size + item.landed.size_bytes > BATCH_BYTES)
        ):
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += item.landed.size_bytes
    return [batch for batch in batches if batch]


@dataclass(frozen=True)
class _Parsed:
    record_batches: list[pa.RecordBatch]
    #: Each list page's pagination, by ``_path``.
    pages: dict[str, ListPage]


def _parse(entity: SourceEntity, batch: list[_NewFile]) -> _Parsed:
    """Parse a batch completely (in a worker thread; DuckDB releases the GIL)."""
    pages: dict[str, ListPage] = {}
    record_batches = list(entity.parse([item.landed.path for item in batch], pages=pages))
    return _Parsed(record_batches, pages)


def _store(
    con: duckdb.DuckDBPyConnection,
    entity: SourceEntity,
    batch: list[_NewFile],
    parsed: Future[_Parsed],
) -> Iterator[FileOutcome]:
    """Write one parsed batch in one transaction, or split it around an unreadable file.

    The pages of an export run that is not complete (docs/sources.md, "harvest") are
    rejected as ``incomplete_export``, never loaded as if they were the whole export.
    """
    try:
        result = parsed.result()
    except FileRejected as rejection:
        if len(batch) > 1:
            for half in _halves(batch, by_run=entity.paged):
                yield from _store(con, entity, half, _completed(_parse, entity, half))
            return
        (item,) = batch
        con.begin()
        try:
            outcome = _reject_file(con, item.landed, item.load, rejection)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        yield outcome
        return
    held = _incomplete_runs(con, batch, result.pages) if result.pages else {}
    con.begin()
    try:
        held_outcomes = [
            _reject_file(
                con, item.landed, item.load, FileRejected(INCOMPLETE_EXPORT, held[item.landed.path])
            )
            for item in batch
            if item.landed.path in held
        ]
        batch = [item for item in batch if item.landed.path not in held]
        record_batches = [
            _without_files(record_batch, {str(path) for path in held})
            for record_batch in result.record_batches
        ]
        sink = DuckDBSink(con)
        loads = {str(item.landed.path): item.load for item in batch}
        totals = {path: BatchCounts() for path in loads}
        for record_batch in record_batches:
            for path, counts in sink.write(entity.schema, record_batch, loads).items():
                totals[path].read += counts.read
                totals[path].loaded += counts.loaded
                totals[path].rejected += counts.rejected
        new = {str(item.landed.path): (item.landed, item.load) for item in batch}
        outcomes = _finish_loads(con, entity, new, totals) if new else []
        con.commit()
    except BaseException:
        con.rollback()
        raise
    yield from held_outcomes
    yield from outcomes


def _halves(batch: list[_NewFile], *, by_run: bool) -> list[list[_NewFile]]:
    """Split a batch in two; pages of one export run stay together while runs differ."""
    runs: dict[str, list[_NewFile]] = {}
    for item in batch:
        runs.setdefault(_export_run_of(item) if by_run else item.landed.relative_path, []).append(
            item
        )
    if len(runs) > 1:
        groups = list(runs.values())
        middle = len(groups) // 2
        return [
            [item for group in groups[:middle] for item in group],
            [item for group in groups[middle:] for item in group],
        ]
    middle = len(batch) // 2
    return [batch[:middle], batch[middle:]]


def _without_files(record_batch: pa.RecordBatch, paths: set[str]) -> pa.RecordBatch:
    """``record_batch`` without the rows of ``paths``."""
    if not paths:
        return record_batch
    keep = pc.invert(pc.is_in(record_batch.column("_path"), pa.array(sorted(paths))))
    return record_batch.filter(keep)


def _incomplete_runs(
    con: duckdb.DuckDBPyConnection, batch: list[_NewFile], pages: Mapping[str, ListPage]
) -> dict[Path, str]:
    """The files of ``batch`` whose export run is not complete, each with why.

    A run is complete when its pages agree on ``total_pages`` and ``total_entries``, pages
    1..``total_pages`` are each present once (in the batch, or loaded before and not
    replaced) and their records add up to ``total_entries``. Pages without pagination fields
    cannot be checked and load.
    """
    runs: dict[str, list[_NewFile]] = {}
    for item in batch:
        runs.setdefault(_export_run_of(item), []).append(item)
    held: dict[Path, str] = {}
    for run, items in runs.items():
        listed = [(item, pages.get(str(item.landed.path))) for item in items]
        totals = {(page.total_pages, page.total_entries) for _, page in listed if page}
        if not totals or any(page is None or page.total_pages is None for _, page in listed):
            continue
        name = run.rsplit("/", 1)[-1]
        if len(totals) > 1:
            reason = f"export {name}: its pages disagree on total_pages and total_entries"
        else:
            ((total_pages, total_entries),) = totals
            present: Counter[int] = Counter()
            records = 0
            for _, page in listed:
                present[page.page or 0] += 1
                records += page.records
            in_batch = {item.landed.relative_path for item in items}
            for source_file, rows_read in _loaded_pages(con, run):
                number = page_number(source_file)
                if source_file not in in_batch and number is not None:
                    present[number] += 1
                    records += rows_read
            expected = set(range(1, total_pages + 1))
            missing = sorted(expected - set(present))
            repeated = sorted(n for n, count in present.items() if count > 1)
            if not missing and not repeated and set(present) == expected:
                if records == total_entries:
                    continue
                reason = (
                    f"export {name}: its {total_pages} page(s) hold {records} entries, "
                    f"total_entries says {total_entries}"
                )
            else:
                pages_text = ", ".join(str(n) for n in sorted(present))
                reason = (
                    f"export {name}: page(s) {pages_text} of {total_pages} present"
                    + (f", missing {', '.join(map(str, missing))}" if missing else "")
                    + (f", repeated {', '.join(map(str, repeated))}" if repeated else "")
                )
        for item in items:
            held[item.landed.path] = (
                reason + "; not loaded as the whole export: it loads once every page has landed"
            )
    return held


def _loaded_pages(con: duckdb.DuckDBPyConnection, run: str) -> list[tuple[str, int]]:
    """Files of ``run`` whose latest version is loaded, with the rows each read."""
    rows = con.execute(
        "SELECT source_file, rows_read, status FROM ops.landed_files "
        "WHERE starts_with(source_file, ?) "
        "QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY loaded_at DESC) = 1",
        [run],
    ).fetchall()
    return [(f, n) for f, n, status in rows if status == LOADED and export_run(f) == run]


def _incomplete_pages(con: duckdb.DuckDBPyConnection, entity_prefix: str) -> set[str]:
    """Files under ``entity_prefix`` whose latest version was held as ``incomplete_export``."""
    rows = con.execute(
        "SELECT f.source_file, r.reason FROM ops.landed_files AS f "
        "LEFT JOIN quarantine.rejected_files AS r USING (load_id) "
        "WHERE starts_with(f.source_file, ?) "
        "QUALIFY row_number() OVER (PARTITION BY f.source_file ORDER BY f.loaded_at DESC) = 1",
        [entity_prefix],
    ).fetchall()
    return {source_file for source_file, reason in rows if reason == INCOMPLETE_EXPORT}


def _completed(function: Callable[..., _Parsed], *args: object) -> Future[_Parsed]:
    """Run ``function`` now and wrap its result (or error) in a finished future."""
    future: Future[_Parsed] = Future()
    try:
        future.set_result(function(*args))
    except BaseException as error:  # noqa: BLE001 - handed to the caller via the future
        future.set_exception(error)
    return future


def _reject_file(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, load: LoadContext, rejection: FileRejected
) -> FileOutcome:
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


def _refuse_escaping_link(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, load: LoadContext
) -> FileOutcome:
    """Reject a symbolic link out of the landing zone without reading what it leads to."""
    rejection = FileRejected(
        OUTSIDE_LANDING_ZONE,
        f"{landed.path.name} is a symbolic link to {landed.escapes_to}, outside the landing "
        "zone: not read",
    )
    con.begin()
    try:
        outcome = _reject_file(con, landed, load, rejection)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return outcome


def _finish_loads(
    con: duckdb.DuckDBPyConnection,
    entity: SourceEntity,
    new: dict[str, tuple[LandedFile, LoadContext]],
    counts: dict[str, BatchCounts],
) -> list[FileOutcome]:
    """Supersede earlier versions, set conflicting ones aside, check the invariant, register."""
    table = f"raw.{quote_identifier(entity.schema.raw_table)}"
    ensure_raw_table(con, entity.schema)
    supersedes: dict[str, str | None] = {}
    for path, (landed, _) in new.items():
        previous = con.execute(
            "SELECT load_id FROM ops.landed_files WHERE source_file = ? AND status = 'loaded' "
            "ORDER BY loaded_at DESC LIMIT 1",
            [landed.relative_path],
        ).fetchone()
        supersedes[path] = previous[0] if previous else None
        if previous is not None:
            con.execute(f"DELETE FROM {table} WHERE _load_id = ?", [previous[0]])
    if entity.schema.version is not None:
        loads = {load.load_id: path for path, (_, load) in new.items()}
        for load_id, conflicting in _reject_conflicting_versions(
            con, entity.schema, table, list(loads)
        ).items():
            counts[loads[load_id]].loaded -= conflicting
            counts[loads[load_id]].rejected += conflicting
    _check_invariant(con, table, {load.load_id: counts[path] for path, (_, load) in new.items()})
    outcomes = []
    for path, (landed, load) in new.items():
        superseded = supersedes[path]
        totals = counts[path]
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
        outcomes.append(outcome)
    return outcomes


def _reject_conflicting_versions(
    con: duckdb.DuckDBPyConnection, schema: SourceSchema, table: str, load_ids: list[str]
) -> dict[str, int]:
    """Move rows of ``load_ids`` that contradict a version already loaded to quarantine.

    Two rows of other files with the same key and the same ``schema.version`` (e.g.
    ``updated_at``) claim to be one version of a record; with different content, which one
    is true cannot be told, so the later load's row (within a batch: the later file's) is
    rejected as ``conflicting_version``, naming the file it contradicts, rather than the
    last load winning unseen. Returns the rows set aside per load.
    """
    key = [*schema.key, schema.version]
    same_version = " AND ".join(
        f"o.{quote_identifier(k)} = i.{quote_identifier(k)}" for k in key if k is not None
    )
    content = [
        c.name for c in schema.columns if c.name not in key and c.name not in schema.page_level
    ]
    differs = " OR ".join(
        f"o.{quote_identifier(c)} IS DISTINCT FROM i.{quote_identifier(c)}" for c in content
    )
    key_text = " || ', ' || ".join(f"i.{quote_identifier(k)}::VARCHAR" for k in key if k)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _conflicting_versions AS "
        "SELECT i._load_id, i._row_number, i._source_file, i._file_sha256, i._ingested_at, "
        f"min(o._source_file) AS other_file, any_value({key_text}) AS version_key, "
        "any_value(to_json(i)) AS payload "
        f"FROM {table} AS i JOIN {table} AS o ON {same_version} "
        "AND o._source_file <> i._source_file "
        # The row kept: loaded before this batch, or in it from a file that sorts first.
        "AND (NOT list_contains(?, o._load_id) OR o._source_file < i._source_file) "
        f"AND ({differs}) "
        "WHERE list_contains(?, i._load_id) GROUP BY ALL",
        [load_ids, load_ids],
    )
    label = ", ".join([*(schema.column(k).source_path for k in schema.key), schema.version])
    con.execute(
        "INSERT INTO quarantine.rejected_rows SELECT _load_id, _source_file, _file_sha256, ?, ?, "
        f"_row_number, ?, {quote_literal(f'another version with the same {label} (')} "
        "|| version_key || ') and other content is in ' || other_file, payload, _ingested_at "
        "FROM _conflicting_versions",
        [schema.system, schema.entity, CONFLICTING_VERSION],
    )
    con.execute(
        f"DELETE FROM {table} AS t USING _conflicting_versions AS c "
        "WHERE t._load_id = c._load_id AND t._row_number = c._row_number"
    )
    moved = con.execute(
        "SELECT _load_id, count(*) FROM _conflicting_versions GROUP BY 1"
    ).fetchall()
    con.execute("DROP TABLE _conflicting_versions")
    return dict(moved)


def _check_invariant(
    con: duckdb.DuckDBPyConnection, table: str, expected: dict[str, BatchCounts]
) -> None:
    """Rows read = rows in ``raw`` + rows in quarantine, for every load of the batch."""
    ids = list(expected)
    stored = dict(
        con.execute(
            f"SELECT _load_id, count(*) FROM {table} WHERE list_contains(?, _load_id) GROUP BY 1",
            [ids],
        ).fetchall()
    )
    rejected = dict(
        con.execute(
            "SELECT load_id, count(*) FROM quarantine.rejected_rows "
            "WHERE list_contains(?, load_id) GROUP BY 1",
            [ids],
        ).fetchall()
    )
    for load_id, totals in expected.items():
        loaded, quarantined = stored.get(load_id, 0), rejected.get(load_id, 0)
        if loaded + quarantined != totals.read or loaded != totals.loaded:
            raise LoadInvariantError(
                f"load {load_id}: read {totals.read} rows but stored {loaded} + rejected "
                f"{quarantined}"
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
        "INSERT INTO ops.landed_files (load_id, source_file, file_sha256, system, entity, "
        "size_bytes, status, rows_read, rows_loaded, rows_rejected, duplicate_of_load_id, "
        "supersedes_load_id, loaded_at, file_mtime_ns) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            landed.mtime_ns,
        ],
    )


class Registration(NamedTuple):
    """A landing file as its latest registration in ``ops.landed_files`` saw it."""

    size_bytes: int
    mtime_ns: int | None
    """None for files registered before mtimes were noted."""
    sha256: str


def latest_registrations(
    con: duckdb.DuckDBPyConnection, entity_prefix: str = ""
) -> dict[str, Registration]:
    """The latest registration of each file under ``entity_prefix`` (all files by default)."""
    rows = con.execute(
        "SELECT source_file, size_bytes, file_mtime_ns, file_sha256 FROM ops.landed_files "
        "WHERE starts_with(source_file, ?) "
        "QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY loaded_at DESC) = 1",
        [entity_prefix],
    ).fetchall()
    return {path: Registration(size, mtime, sha) for path, size, mtime, sha in rows}


def _registered_stats(
    con: duckdb.DuckDBPyConnection, entity_prefix: str
) -> dict[str, tuple[int, int]]:
    """Size and mtime of each file under ``entity_prefix`` as its latest registration saw it.

    Files registered without an mtime (before the column existed) are left out: they are
    hashed once more, and their mtime noted then.
    """
    return {
        path: (known.size_bytes, known.mtime_ns)
        for path, known in latest_registrations(con, entity_prefix).items()
        if known.mtime_ns is not None
    }


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
