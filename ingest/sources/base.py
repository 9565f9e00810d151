"""What every source format provides: how to read a file's records, and its schema."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from ingest.schema import SourceSchema, quote_literal, validated_select

#: File-level reject reasons (``quarantine.rejected_files.reason``).
UNPARSEABLE = "unparseable"
EMPTY_FILE = "empty_file"
UNEXPECTED_STRUCTURE = "unexpected_structure"

#: Rows handed to the sink per Arrow record batch.
BATCH_ROWS = 100_000


class FileRejected(Exception):
    """A whole file cannot be loaded; it goes to ``quarantine.rejected_files``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RecordReader(Protocol):
    """Turns one landed file into a relation of ``(_row_number, record JSON)``."""

    def records_sql(self, path: Path) -> str:
        """Return a DuckDB query yielding ``_row_number`` and ``record`` for ``path``."""
        ...


@dataclass(frozen=True)
class JsonPagesReader:
    """Reads an API list page: a JSON object whose ``list_key`` holds the records.

    This is how Harvest API v2 returns lists (``{"time_entries": [...], "page": 1, ...}``).
    """

    list_key: str

    def records_sql(self, path: Path) -> str:
        """Return a query that unnests the page's list into numbered records."""
        key = self.list_key.replace('"', "")
        source = (
            f"read_json({quote_literal(str(path))}, columns={{'{key}': 'JSON[]'}}, "
            "format='unstructured', maximum_object_size=1073741824)"
        )
        return (
            f'SELECT i + 1 AS _row_number, "{key}"[i + 1] AS record '
            f'FROM {source} AS page, range(len(page."{key}")) AS r(i)'
        )


@dataclass(frozen=True)
class SourceEntity:
    """A landed entity: its schema and the reader for its file format."""

    schema: SourceSchema
    reader: RecordReader
    file_suffixes: tuple[str, ...]

    def accepts(self, path: Path) -> bool:
        """Whether ``path`` has one of this entity's file suffixes."""
        return path.name.lower().endswith(self.file_suffixes)

    def parse(self, path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Yield validated Arrow record batches of ``path``.

        Each batch has the declared columns plus ``_row_number``, ``_extra``,
        ``_payload``, ``_reject_reason`` and ``_reject_detail``. Raises
        :class:`FileRejected` when the file as a whole cannot be read.
        """
        if path.stat().st_size == 0:
            raise FileRejected(EMPTY_FILE, f"{path.name} is empty")
        con = duckdb.connect()
        try:
            try:
                con.execute(f"CREATE TEMP TABLE records AS {self.reader.records_sql(path)}")
            except duckdb.Error as error:
                raise FileRejected(UNPARSEABLE, _first_line(error)) from error
            yield from con.sql(validated_select(self.schema, "records")).to_arrow_reader(batch_rows)
        finally:
            con.close()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:500]
