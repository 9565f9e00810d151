"""What every source format provides: how to read files' records, and their schema.

A reader turns one or more landed files into a relation with one text column per declared
field (plus row number, extra fields and the raw payload); :func:`ingest.schema.
validated_select` types and validates it; :meth:`SourceEntity.parse` streams the result as
Arrow record batches to a sink (docs/design.md §7). All of it runs inside an in-memory DuckDB, so
a file is parsed once, by DuckDB's own readers, and memory stays bounded by the batch.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from ingest.schema import SourceSchema, json_path, quote_identifier, quote_literal, validated_select

#: File-level reject reasons (``quarantine.rejected_files.reason``).
UNPARSEABLE = "unparseable"
EMPTY_FILE = "empty_file"
NO_DATA_ROWS = "no_data_rows"
UNEXPECTED_STRUCTURE = "unexpected_structure"
INVALID_ENCODING = "invalid_encoding"
WRONG_DELIMITER = "wrong_delimiter"
MISSING_REQUIRED_COLUMN = "missing_required_column"
CONTROL_TOTAL_MISMATCH = "control_total_mismatch"
OUTSIDE_LANDING_ZONE = "outside_landing_zone"
INCOMPLETE_EXPORT = "incomplete_export"

#: Every file-level reason, for docs and accepted-values tests.
FILE_REASONS = (
    EMPTY_FILE,
    INVALID_ENCODING,
    UNPARSEABLE,
    UNEXPECTED_STRUCTURE,
    WRONG_DELIMITER,
    MISSING_REQUIRED_COLUMN,
    NO_DATA_ROWS,
    CONTROL_TOTAL_MISMATCH,
    OUTSIDE_LANDING_ZONE,
    INCOMPLETE_EXPORT,
)

#: Rows handed to the sink per Arrow record batch.
BATCH_ROWS = 100_000

_OTHER_DELIMITERS = (",", ";", "\t", "|")
_EMPTY_SNAPSHOT = "a snapshot without data rows would erase the current state"


class FileRejected(Exception):
    """A whole file cannot be loaded; it goes to ``quarantine.rejected_files``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RecordReader(Protocol):
    """Turns landed files into the relation :func:`validated_select` reads."""

    #: Whether one query may read several files (else the loader reads them one by one).
    batchable: bool

    def relation_sql(
        self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, paths: Sequence[Path]
    ) -> str:
        """Check ``paths`` and return a query over them; raise :class:`FileRejected`."""
        ...


#: Characters DuckDB's file readers take as a glob, each as a bracket class matching itself.
_GLOB_ESCAPES = str.maketrans({"[": "[[]", "]": "[]]", "*": "[*]", "?": "[?]"})


def file_sql(path: Path) -> str:
    """SQL literal naming exactly ``path`` for DuckDB's readers (``read_text``, ``read_csv``).

    They take a name as a glob: ``a[1].csv`` would read ``a1.csv`` and ``a*.csv`` every
    ``a...csv``. Each glob character is escaped as a one-character class, so a landed name
    reads exactly that file once; the rows' ``filename`` is still the plain path.
    """
    return quote_literal(str(path).translate(_GLOB_ESCAPES))


def _path_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(file_sql(path) for path in paths) + "]"


def _known_keys(schema: SourceSchema) -> str:
    return "[" + ", ".join(quote_literal(name) for name in schema.top_level_fields) + "]"


#: Pagination fields of an API list page (column of ``_documents``: field in the page).
PAGE_FIELDS = {
    "page": "page",
    "total_pages": "total_pages",
    "total_entries": "total_entries",
    "first_link": "links.first",
}


@dataclass(frozen=True)
class ListPage:
    """The pagination of one API list page, read with its records (None: field absent)."""

    page: int | None
    total_pages: int | None
    total_entries: int | None
    records: int
    first_link: str | None


@dataclass(frozen=True)
class JsonDocumentReader:
    """Reads JSON documents whose records sit in one array.

    ``list_key`` names the array in an API list page (Harvest v2:
    ``{"time_entries": [...], "page": 1, ...}``); ``None`` reads a top-level array
    (Toggl API v9). Several files are read in one query.
    """

    list_key: str | None = None
    batchable: bool = True

    def relation_sql(
        self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, paths: Sequence[Path]
    ) -> str:
        """Stage the documents' arrays in ``_documents`` and return a query over the records."""
        array = "$" if self.list_key is None else json_path(self.list_key)[1:-1]
        known = _known_keys(schema)
        # One pass over each document: its records, and the keys any record adds to the
        # schema (usually none, so records only need a per-row ``_extra`` when it has some).
        # A list page's pagination fields (Harvest v2), kept per document in the same read.
        page_fields = (
            ""
            if self.list_key is None
            else ", ".join(
                f"json_extract_string(content, {json_path(name)}) AS {quote_identifier(column)}"
                for column, name in PAGE_FIELDS.items()
            )
            + ", "
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _documents AS "
            f"SELECT _path, items, {page_fields}"
            f"CASE WHEN len(items) = 0 THEN coalesce(json_type(content, '{array}'), 'missing') "
            "END AS empty_type, "
            f"list_filter(list_distinct(flatten(json_keys(content, '{array}[*]'))), "
            f"lambda k: NOT list_contains({known}, k)) AS extra_keys "
            f"FROM (SELECT _path, content, json_extract(content, '{array}[*]') AS items FROM ("
            f"SELECT filename AS _path, {without_bom('content')} AS content "
            f"FROM read_text({_path_list(paths)})))"
        )
        for path, empty_type in con.execute(
            "SELECT _path, empty_type FROM _documents WHERE empty_type IS NOT NULL"
        ).fetchall():
            if empty_type == "ARRAY" and schema.rejects_empty_files:
                raise FileRejected(NO_DATA_ROWS, f"{Path(path).name}: {_EMPTY_SNAPSHOT}")
            if empty_type == "ARRAY":
                continue
            where = f"key {self.list_key!r}" if self.list_key else "the top level"
            raise FileRejected(
                UNEXPECTED_STRUCTURE,
                f"{Path(path).name}: expected an array at {where}, found {empty_type.lower()}",
            )
        scalars = [c for c in schema.columns if not c.is_json]
        paths_list = "[" + ", ".join(json_path(c.source_path) for c in scalars) + "]"
        fields = [f"s[{i + 1}] AS {quote_identifier(c.name)}" for i, c in enumerate(scalars)] + [
            f"nullif(json_extract(r, {json_path(c.source_path)}), 'null'::JSON) "
            f"AS {quote_identifier(c.name)}"
            for c in schema.columns
            if c.is_json
        ]
        extra_entries = (
            "list_filter(map_entries(TRY_CAST(r AS MAP(VARCHAR, JSON))), "
            f"lambda e: NOT list_contains({known}, e.key))"
        )
        extra = (
            f"CASE WHEN len(extra_keys) > 0 AND len({extra_entries}) > 0 "
            f"THEN to_json(map_from_entries({extra_entries})) END"
        )
        return (
            # Records come from json_extract, so they are minified: objects start with "{".
            "SELECT _path, _row_number, starts_with(r::VARCHAR, '{') AS _is_record, "
            "NULL::VARCHAR AS _record_type_error, "
            + ", ".join(fields)
            + f", {extra} AS _extra, r AS _payload FROM ("
            f"SELECT _path, _row_number, r, extra_keys, "
            f"json_extract_string(r, {paths_list}) AS s FROM ("
            "SELECT _path, extra_keys, unnest(items) AS r, "
            "generate_subscripts(items, 1) AS _row_number FROM _documents))"
        )

    def list_pages(self, con: duckdb.DuckDBPyConnection) -> dict[str, ListPage]:
        """Each page staged by :meth:`relation_sql` with its pagination; none for bare arrays."""
        if self.list_key is None:
            return {}
        rows = con.execute(
            "SELECT _path, TRY_CAST(page AS BIGINT), TRY_CAST(total_pages AS BIGINT), "
            "TRY_CAST(total_entries AS BIGINT), coalesce(len(items), 0), first_link "
            "FROM _documents"
        ).fetchall()
        return {row[0]: ListPage(*row[1:]) for row in rows}


def _stage_files(
    con: duckdb.DuckDBPyConnection,
    schema: SourceSchema,
    paths: Sequence[Path],
    file_sql: Callable[[duckdb.DuckDBPyConnection, SourceSchema, Path], str],
) -> str:
    """Read ``paths`` one by one into the temp table ``_relation``; return a query over it.

    Each file is read by its own small query (its header, its row numbers), and the batch
    is validated by one query over the table: query set-up costs dominate small files.
    """
    con.execute("DROP TABLE IF EXISTS _relation")
    for index, path in enumerate(paths):
        sql = file_sql(con, schema, path)
        if index == 0:
            con.execute(f"CREATE TEMP TABLE _relation AS {sql} LIMIT 0")
        ((rows,),) = con.execute(f"INSERT INTO _relation BY NAME {sql}").fetchall()
        if rows == 0 and schema.rejects_empty_files:
            raise FileRejected(NO_DATA_ROWS, f"{path.name}: {_EMPTY_SNAPSHOT}")
    return "SELECT * FROM _relation"


def _check_utf8(path: Path) -> None:
    """Reject a file that is not UTF-8, naming the first bad byte's line."""
    decoder_line = 1
    with path.open("rb") as handle:
        pending = b""
        while chunk := handle.read(1 << 20):
            data = pending + chunk
            try:
                data.decode("utf-8")
                pending = b""
            except UnicodeDecodeError as error:
                if error.end >= len(data) - 3 and error.reason == "unexpected end of data":
                    pending = data[error.start :]  # a character split across chunks
                    data = data[: error.start]
                else:
                    line = decoder_line + data[: error.start].count(b"\n")
                    raise FileRejected(
                        INVALID_ENCODING,
                        f"not UTF-8: byte 0x{data[error.start]:02x} on line {line}",
                    ) from error
            decoder_line += data.count(b"\n")
        if pending:
            raise FileRejected(INVALID_ENCODING, "not UTF-8: the file ends inside a character")


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        return handle.readline().rstrip("\r\n")


def csv_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header row of a delimited file (BOM stripped; bad bytes left to the UTF-8 check).

    A header Python's CSV module cannot split (a field over its 128 KiB limit) rejects the
    file, never the load.
    """
    try:
        return next(csv.reader([_first_line(path)], delimiter=delimiter), [])
    except csv.Error as error:
        raise FileRejected(UNPARSEABLE, f"the header row cannot be read: {error}") from error


def without_bom(text: str) -> str:
    """SQL: ``text`` without a leading byte order mark (DuckDB's JSON reader refuses one)."""
    return f"CASE WHEN starts_with({text}, chr(65279)) THEN substr({text}, 2) ELSE {text} END"


@dataclass(frozen=True)
class CsvReader:
    """Reads a delimited file with a header row (RFC 4180 quoting), one file per query.

    The header must contain every required column (else ``missing_required_column``);
    undeclared columns are kept in ``_extra``; a header that only parses as one column but
    contains another delimiter is a ``wrong_delimiter``.
    """

    delimiter: str = ","
    batchable: bool = True

    def relation_sql(
        self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, paths: Sequence[Path]
    ) -> str:
        """Check each file's encoding and header; return a query over their data rows."""
        return _stage_files(con, schema, paths, self._file_sql)

    def _file_sql(self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, path: Path) -> str:
        _check_utf8(path)
        header = csv_header(path, self.delimiter)
        if len(header) == 1:
            others = [d for d in _OTHER_DELIMITERS if d != self.delimiter and d in header[0]]
            if others:
                raise FileRejected(
                    WRONG_DELIMITER,
                    f"expected {self.delimiter!r}-delimited columns, the header uses {others[0]!r}",
                )
        if len(set(header)) != len(header):
            raise FileRejected(UNEXPECTED_STRUCTURE, "the header repeats a column name")
        missing = [name for name in schema.required_sources if name not in header]
        if missing:
            raise FileRejected(
                MISSING_REQUIRED_COLUMN, "missing required column(s): " + ", ".join(missing)
            )
        columns = "{" + ", ".join(f"{quote_literal(h)}: 'VARCHAR'" for h in header) + "}"
        source = (
            f"read_csv({file_sql(path)}, header=true, columns={columns}, "
            f"delim={quote_literal(self.delimiter)}, quote='\"', escape='\"', "
            "auto_detect=false)"
        )
        declared = {c.source_path for c in schema.columns}
        fields = [
            (
                f"nullif(t.{quote_identifier(c.source_path)}, '')"
                if c.source_path in header
                else "NULL::VARCHAR"
            )
            + f" AS {quote_identifier(c.name)}"
            for c in schema.columns
        ]
        extra = [h for h in header if h not in declared]
        extra_sql = (
            "json_object("
            + ", ".join(f"{quote_literal(h)}, t.{quote_identifier(h)}" for h in extra)
            + ")"
            if extra
            else "NULL::JSON"
        )
        payload = (
            "json_object("
            + ", ".join(f"{quote_literal(h)}, t.{quote_identifier(h)}" for h in header)
            + ")"
        )
        return (
            f"SELECT {quote_literal(str(path))} AS _path, row_number() OVER () AS _row_number, "
            "true AS _is_record, NULL::VARCHAR AS _record_type_error, "
            + ", ".join(fields)
            + f", {extra_sql} AS _extra, {payload} AS _payload FROM {source} AS t"
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

    @property
    def paged(self) -> bool:
        """Whether files are pages of API list exports (Harvest), checked complete per run."""
        return isinstance(self.reader, JsonDocumentReader) and self.reader.list_key is not None

    def parse(
        self,
        paths: Sequence[Path],
        batch_rows: int = BATCH_ROWS,
        pages: dict[str, ListPage] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Yield validated Arrow record batches of ``paths``.

        Each batch has ``_path``, ``_row_number``, the declared columns, ``_extra``,
        ``_payload``, ``_reject_reason`` and ``_reject_detail``. Raises
        :class:`FileRejected` when a file as a whole cannot be read (with several paths,
        the caller reads them one by one to find which). ``pages``, when given, receives each
        list page's pagination, from the same read.
        """
        for path in paths:
            if path.stat().st_size == 0:
                raise FileRejected(EMPTY_FILE, f"{path.name} is empty")
        con = duckdb.connect()
        try:
            # Timestamps without an offset are UTC (validated_select converts the others).
            con.execute("SET TimeZone = 'UTC'")
            try:
                relation = self.reader.relation_sql(con, self.schema, paths)
                reader = con.sql(validated_select(self.schema, f"({relation})")).to_arrow_reader(
                    batch_rows
                )
                rows = 0
                for batch in reader:
                    rows += batch.num_rows
                    yield batch
                if pages is not None and isinstance(self.reader, JsonDocumentReader):
                    pages.update(self.reader.list_pages(con))
            except duckdb.Error as error:
                raise _classify(error) from error
            if rows == 0 and self.schema.rejects_empty_files:
                raise FileRejected(NO_DATA_ROWS, _EMPTY_SNAPSHOT)
        finally:
            con.close()


def _classify(error: duckdb.Error) -> FileRejected:
    message = " ".join(str(error).split())
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return FileRejected(INVALID_ENCODING, message[:500])
    return FileRejected(UNPARSEABLE, message[:500])
