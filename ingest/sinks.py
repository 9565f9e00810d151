"""Sinks receive validated Arrow record batches and store them.

Parsing (``ingest.sources``) and storing are kept apart so that another engine only needs
another sink (docs/design.md §7). :class:`DuckDBSink` writes the warehouse's ``raw`` and
``quarantine`` tables inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from ingest.schema import SourceSchema, quote_identifier
from ingest.warehouse import ensure_raw_table


@dataclass(frozen=True)
class LoadContext:
    """Lineage stamped on every row of one file's load (docs/design.md §2)."""

    load_id: str
    source_file: str
    file_sha256: str
    ingested_at: datetime


@dataclass
class BatchCounts:
    """Rows of one batch, split by outcome."""

    read: int = 0
    loaded: int = 0
    rejected: int = 0


class DuckDBSink:
    """Writes accepted rows to ``raw.<system>__<entity>`` and the rest to quarantine."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._tables: dict[str, str] = {}

    def write(
        self, schema: SourceSchema, batch: pa.RecordBatch, loads: Mapping[str, LoadContext]
    ) -> dict[str, BatchCounts]:
        """Store one validated batch; return per file (``_path``) how many rows went where.

        ``loads`` maps each ``_path`` value in the batch to the lineage of its file's load.
        """
        self._con.register("_incoming_batch", pa.Table.from_batches([batch]))
        self._con.register("_incoming_lineage", _lineage_table(loads))
        try:
            self._insert_raw(schema, "WHERE b._reject_reason IS NULL")
            self._con.execute(
                "INSERT INTO quarantine.rejected_rows SELECT l.load_id, l.source_file, "
                "l.file_sha256, ?, ?, b._row_number, b._reject_reason, b._reject_detail, "
                "b._payload, l.ingested_at "
                "FROM _incoming_batch AS b JOIN _incoming_lineage AS l USING (_path) "
                "WHERE b._reject_reason IS NOT NULL",
                [schema.system, schema.entity],
            )
            counts = self._con.execute(
                "SELECT _path, count(*), count(_reject_reason) FROM _incoming_batch GROUP BY 1"
            ).fetchall()
        finally:
            self._con.unregister("_incoming_batch")
            self._con.unregister("_incoming_lineage")
        unknown = [path for path, _, _ in counts if path not in loads]
        if unknown:
            raise ValueError(f"batch rows from files without a load: {unknown[:3]}")
        return {
            path: BatchCounts(read=read, loaded=read - rejected, rejected=rejected)
            for path, read, rejected in counts
        }

    def write_records(
        self, schema: SourceSchema, records: pa.Table, loads: Mapping[str, LoadContext]
    ) -> int:
        """Store records read from an API (typed by the reader, so none is quarantined).

        ``records`` has ``_path`` (the record's document, a key of ``loads``), ``_row_number``
        and the declared columns; ``_extra`` is optional. Returns the rows written.
        """
        if records.num_rows == 0:
            return 0
        unknown = set(records.column("_path").to_pylist()) - loads.keys()
        if unknown:
            raise ValueError(f"records from documents without a load: {sorted(unknown)[:3]}")
        if "_extra" not in records.column_names:
            records = records.append_column("_extra", pa.nulls(records.num_rows, pa.string()))
        self._con.register("_incoming_batch", records)
        self._con.register("_incoming_lineage", _lineage_table(loads))
        try:
            self._insert_raw(schema)
        finally:
            self._con.unregister("_incoming_batch")
            self._con.unregister("_incoming_lineage")
        return records.num_rows

    def _insert_raw(self, schema: SourceSchema, where: str = "") -> None:
        """Insert the registered ``_incoming_batch`` rows into the raw table, with lineage."""
        if schema.raw_table not in self._tables:
            self._tables[schema.raw_table] = ensure_raw_table(self._con, schema)
        table = self._tables[schema.raw_table]
        columns = [column.name for column in schema.columns] + ["_extra"]
        column_list = ", ".join(quote_identifier(name) for name in columns)
        selected = ", ".join(f"b.{quote_identifier(name)}" for name in columns)
        self._con.execute(
            f"INSERT INTO {table} ({column_list}, _source_file, _file_sha256, _row_number, "
            f"_ingested_at, _load_id) SELECT {selected}, l.source_file, l.file_sha256, "
            "b._row_number, l.ingested_at, l.load_id "
            f"FROM _incoming_batch AS b JOIN _incoming_lineage AS l USING (_path) {where}"
        )


def _lineage_table(loads: Mapping[str, LoadContext]) -> pa.Table:
    """The lineage of each ``_path`` as a relation to join the incoming rows with."""
    return pa.table(
        {
            "_path": list(loads),
            "source_file": [load.source_file for load in loads.values()],
            "file_sha256": [load.file_sha256 for load in loads.values()],
            "ingested_at": pa.array(
                [load.ingested_at for load in loads.values()], pa.timestamp("us")
            ),
            "load_id": [load.load_id for load in loads.values()],
        }
    )
