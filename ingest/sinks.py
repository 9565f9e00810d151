"""Sinks receive validated Arrow record batches and store them.

Parsing (``ingest.sources``) and storing are kept apart so that another engine only needs
another sink (DESIGN §7). :class:`DuckDBSink` writes the warehouse's ``raw`` and
``quarantine`` tables inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from ingest.schema import SourceSchema, quote_identifier
from ingest.warehouse import ensure_raw_table


@dataclass(frozen=True)
class LoadContext:
    """Lineage stamped on every row of one file's load (DESIGN §2)."""

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

    def write(self, schema: SourceSchema, batch: pa.RecordBatch, load: LoadContext) -> BatchCounts:
        """Store one validated batch; return how many rows went where."""
        table = ensure_raw_table(self._con, schema)
        columns = [column.name for column in schema.columns] + ["_extra"]
        column_list = ", ".join(quote_identifier(name) for name in columns)
        meta = [load.source_file, load.file_sha256, load.ingested_at, load.load_id]
        self._con.register("_incoming_batch", batch)
        try:
            self._con.execute(
                f"INSERT INTO {table} ({column_list}, _source_file, _file_sha256, _row_number, "
                f"_ingested_at, _load_id) SELECT {column_list}, ?, ?, _row_number, ?, ? "
                "FROM _incoming_batch WHERE _reject_reason IS NULL",
                meta,
            )
            self._con.execute(
                "INSERT INTO quarantine.rejected_rows SELECT ?, ?, ?, ?, ?, _row_number, "
                "_reject_reason, _reject_detail, _payload, ? "
                "FROM _incoming_batch WHERE _reject_reason IS NOT NULL",
                [
                    load.load_id,
                    load.source_file,
                    load.file_sha256,
                    schema.system,
                    schema.entity,
                    load.ingested_at,
                ],
            )
        finally:
            self._con.unregister("_incoming_batch")
        reasons = batch.column("_reject_reason")
        rejected = batch.num_rows - reasons.null_count
        return BatchCounts(read=batch.num_rows, loaded=batch.num_rows - rejected, rejected=rejected)
