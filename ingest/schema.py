"""Declared schemas of landed source entities, and the SQL that validates rows against them.

A :class:`SourceSchema` says which fields an entity has, their warehouse types, which are
required, and the record key. Rules about values (ranges, accepted codes, signs) are not load
rules: a row that reads fine loads, and the dbt validation models raise it as an exception
with an owner (docs/design.md §2 and §5). A reader
(:mod:`ingest.sources.base`) turns files into a relation with one text column per declared
field; :func:`validated_select` types every field and gives each row either no reject reason
(it goes to ``raw``) or the first rule it breaks (it goes to ``quarantine.rejected_rows``).
Validation in SQL keeps memory flat and runs at DuckDB speed on millions of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Row-level reject reasons (``quarantine.rejected_rows.reason``).
MISSING_REQUIRED_FIELD = "missing_required_field"
INVALID_TYPE = "invalid_type"
NOT_AN_OBJECT = "not_an_object"
UNEXPECTED_RECORD_TYPE = "unexpected_record_type"
DUPLICATE_ROW = "duplicate_row"
DUPLICATE_KEY = "duplicate_key"
POSTED_AMOUNT_MISMATCH = "posted_amount_mismatch"
CONFLICTING_VERSION = "conflicting_version"

#: Every row-level reason, for docs and accepted-values tests.
ROW_REASONS = (
    NOT_AN_OBJECT,
    UNEXPECTED_RECORD_TYPE,
    MISSING_REQUIRED_FIELD,
    INVALID_TYPE,
    DUPLICATE_ROW,
    DUPLICATE_KEY,
    POSTED_AMOUNT_MISMATCH,
    CONFLICTING_VERSION,
)


@dataclass(frozen=True)
class Column:
    """One field of a source entity.

    ``source`` is where the value comes from in the record: a dotted JSON path such as
    ``user.id`` for JSON sources, or the header name for CSV sources (default: ``name``).
    ``type`` is the DuckDB type of the raw column; ``JSON`` keeps a nested value as JSON.
    """

    name: str
    type: str
    source: str | None = None
    required: bool = False
    description: str = ""

    @property
    def source_path(self) -> str:
        """Location of the value in the source record (dotted for nested JSON)."""
        return self.source or self.name

    @property
    def is_json(self) -> bool:
        """Whether the raw column keeps the value as JSON rather than a scalar."""
        return self.type.upper() == "JSON"

    @property
    def is_currency(self) -> bool:
        """Whether the column holds an ISO 4217 currency code (its name has ``currency``)."""
        return self.type.upper() == "VARCHAR" and "currency" in self.name.split("_")


#: Shapes a value must have before it is cast, by type (DuckDB's casts are lenient: they read
#: ``1_0.5`` as 10.5, round ``2400000001.7`` to an id, take ``0x10`` as 16 and ``infinity``
#: as a date). Text of another shape cannot be read as the type: ``invalid_type``.
_INTEGER = r"[+-]?[0-9]+"
_DECIMAL = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_STRICT_SHAPES = {
    "TINYINT": _INTEGER,
    "SMALLINT": _INTEGER,
    "INTEGER": _INTEGER,
    "BIGINT": _INTEGER,
    "DECIMAL": _DECIMAL,
    "DOUBLE": _DECIMAL,
    "DATE": _DATE,
    "TIMESTAMP": _DATE + r"([T ].*)?",
}
#: An ISO 4217 alphabetic code's shape, once trimmed and upper-cased (``eur`` is ``EUR``).
#: Whether the code exists is a value rule, raised downstream (docs/design.md §2).
_CURRENCY_CODE = "[A-Z]{3}"


def typed_sql(column: Column, text: str) -> str:
    """SQL: the text ``text`` of ``column`` as its type, or NULL when it cannot be read so.

    Numbers and dates must have their plain shape; a timestamp with an offset
    (``-08:00``, ``Z``, ``+0000``) is converted to UTC, one without is taken as UTC; a
    currency code is trimmed and upper-cased.
    """
    if column.is_currency:
        code = f"upper(trim({text}))"
        return f"CASE WHEN regexp_full_match({code}, '{_CURRENCY_CODE}') THEN {code} END"
    base = column.type.upper().split("(")[0].strip()
    if base == "TIMESTAMP":
        # The reading connection's TimeZone is UTC (SourceEntity.parse).
        cast = f"TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC'"
    else:
        cast = f"TRY_CAST({text} AS {column.type})"
    shape = _STRICT_SHAPES.get(base)
    if shape is None:
        return cast
    return f"CASE WHEN regexp_full_match({text}, {quote_literal(shape)}) THEN {cast} END"


@dataclass(frozen=True)
class RowCheck:
    """A rule the rows of one group must meet together to be read at all (a control total).

    ``group`` names the columns whose rows (within a file) are checked together; ``detail``
    is SQL over the reader's text columns giving why a row breaks the rule (or NULL), with
    ``{over}`` where a window over the row's group goes. A row that repeats an earlier row's
    key is left out of the group (it is rejected as a duplicate).
    """

    reason: str
    group: Sequence[str]
    detail: str


@dataclass(frozen=True)
class SourceSchema:
    """The declared shape of one landed entity (``<system>/<entity>``).

    ``snapshot`` entities are full exports (master data): a file without data rows would
    wipe the current state, so it is rejected rather than loaded as empty, unless
    ``may_be_empty`` says an empty version is a state the firm means (a business calendar
    without non-working dates).
    """

    system: str
    entity: str
    columns: Sequence[Column]
    key: Sequence[str] = field(default_factory=tuple)
    description: str = ""
    snapshot: bool = False
    #: Checked after the types and duplicate keys: the first rule broken wins.
    row_checks: Sequence[RowCheck] = ()
    #: The column that tells a record's versions apart (``updated_at``): two files with one
    #: key and version but other content conflict (the later row is ``conflicting_version``).
    version: str | None = None
    #: Columns filled from the file rather than the record: no part of a version's content.
    page_level: Sequence[str] = ()
    may_be_empty: bool = False

    @property
    def rejects_empty_files(self) -> bool:
        """Whether a file without data rows is rejected (a snapshot that may not be empty)."""
        return self.snapshot and not self.may_be_empty

    @property
    def raw_table(self) -> str:
        """Name of the table in schema ``raw`` that holds this entity's rows."""
        return f"{self.system}__{self.entity}"

    @property
    def top_level_fields(self) -> list[str]:
        """Top-level record keys the schema knows; any other key is schema drift."""
        seen: dict[str, None] = {}
        for column in self.columns:
            seen.setdefault(column.source_path.split(".")[0], None)
        return list(seen)

    @property
    def required_sources(self) -> list[str]:
        """Top-level source fields (CSV headers) that must be present in every file."""
        return [c.source_path for c in self.columns if c.required and "." not in c.source_path]

    def column(self, name: str) -> Column:
        """Return the declared column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.system}/{self.entity} has no column {name!r}")


def quote_identifier(name: str) -> str:
    """Quote an SQL identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote an SQL string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


def json_path(dotted: str) -> str:
    """A DuckDB JSON path literal for a dotted source path; each key is quoted."""
    keys = "".join('."' + part.replace('"', '\\"') + '"' for part in dotted.split("."))
    return quote_literal("$" + keys)


def validated_select(schema: SourceSchema, relation: str) -> str:
    """Build a query that types and validates the rows of ``relation`` against ``schema``.

    ``relation`` has ``_path`` (the file), ``_row_number``, ``_is_record`` (false when the
    row is not a record at all), ``_record_type_error`` (a message, or NULL), one column
    per declared field named after it (VARCHAR text as received, or JSON for ``JSON``
    columns), ``_extra`` and ``_payload``. The query returns ``_path``, ``_row_number``,
    every declared column typed, ``_extra``, ``_payload`` (only on rejected rows),
    ``_reject_reason`` and ``_reject_detail``. Within one file, a second row with the key
    of an earlier one is a ``duplicate_row`` (same payload) or ``duplicate_key``.
    """
    typed: list[str] = []
    checks: list[tuple[str, str, str]] = [
        ("NOT _is_record", NOT_AN_OBJECT, "'record is not an object'"),
        ("_record_type_error IS NOT NULL", UNEXPECTED_RECORD_TYPE, "_record_type_error"),
    ]
    for index, column in enumerate(schema.columns):
        text = f"v.{quote_identifier(column.name)}"
        label = column.source_path
        if column.is_json:
            typed.append(f"{text} AS {quote_identifier(column.name)}")
            value = text
        else:
            # Cast once in the ``typed`` CTE; the checks below reuse the typed column.
            value = f"_typed_{index}"
            typed.append(f"{typed_sql(column, text)} AS {value}")
        if column.required:
            checks.append(
                (f"{text} IS NULL", MISSING_REQUIRED_FIELD, quote_literal(f"{label} is missing"))
            )
        if not column.is_json:
            kind = "currency code (ISO 4217)" if column.is_currency else column.type.lower()
            checks.append(
                (
                    f"{text} IS NOT NULL AND {value} IS NULL",
                    INVALID_TYPE,
                    f"{quote_literal(f'{label} is not a valid {kind}: ')} || left({text}, 100)",
                )
            )
    duplicates = ""
    if schema.key:
        # Only keys seen twice in a file get ranked: a window over every row costs a sort.
        key_label = ", ".join(schema.column(k).source_path for k in schema.key)
        key_columns = ", ".join(quote_identifier(k) for k in schema.key)
        window = f"PARTITION BY _path, {key_columns} ORDER BY _row_number"
        # A key part may be empty (an SAE line without allocation): NULLs compare equal.
        same_key = " AND ".join(
            f"r.{quote_identifier(k)} IS NOT DISTINCT FROM k.{quote_identifier(k)}"
            for k in schema.key
        )
        duplicates = (
            f", repeated AS (SELECT _path, {key_columns} FROM relation "
            f"GROUP BY ALL HAVING count(*) > 1), "
            f"ranked AS (SELECT _path, _row_number, row_number() OVER ({window}) AS _key_rank, "
            f"first_value(_payload) OVER ({window}) = _payload AS _same_as_first, "
            f"first_value(_row_number) OVER ({window}) AS _first_row "
            f"FROM relation AS r SEMI JOIN repeated AS k ON r._path = k._path AND {same_key})"
        )
        checks.append(
            (
                "v._key_rank > 1 AND v._same_as_first",
                DUPLICATE_ROW,
                f"'same row as row ' || v._first_row || {quote_literal(f' ({key_label})')}",
            )
        )
        checks.append(
            (
                "v._key_rank > 1",
                DUPLICATE_KEY,
                f"{quote_literal(f'{key_label} already used by row ')} || v._first_row",
            )
        )
    stages = ""
    source = "typed"
    if schema.key:
        stages += (
            ", keyed AS (SELECT v.*, d._key_rank, d._same_as_first, d._first_row "
            "FROM typed AS v LEFT JOIN ranked AS d USING (_path, _row_number))"
        )
        source = "keyed"
    if schema.row_checks:
        later = "coalesce(_key_rank, 1) > 1" if schema.key else "false"
        grouped = []
        for index, check in enumerate(schema.row_checks):
            group = ", ".join(quote_identifier(c) for c in check.group)
            over = f"OVER (PARTITION BY _path, {group}, {later})"
            grouped.append(f"{check.detail.format(over=over)} AS _row_check_{index}")
            checks.append(
                (f"v._row_check_{index} IS NOT NULL", check.reason, f"v._row_check_{index}")
            )
        stages += f", grouped AS (SELECT *, {', '.join(grouped)} FROM {source})"
        source = "grouped"
    reason = "CASE " + " ".join(f"WHEN {c} THEN {quote_literal(r)}" for c, r, _ in checks) + " END"
    detail = "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, _, m in checks) + " END"
    joined = f"FROM {source} AS v"
    outputs = [
        quote_identifier(c.name) if c.is_json else f"_typed_{i} AS {quote_identifier(c.name)}"
        for i, c in enumerate(schema.columns)
    ]
    return (
        f"WITH relation AS (SELECT * FROM {relation}), "
        f"typed AS (SELECT v.*, {', '.join(t for t in typed if ' AS _typed_' in t)} "
        f"FROM relation AS v){duplicates}{stages}, "
        f"checked AS (SELECT v.*, {reason} AS _reject_reason, {detail} AS _reject_detail "
        f"{joined}) "
        "SELECT _path, _row_number, "
        + ", ".join(outputs)
        + ", _extra, CASE WHEN _reject_reason IS NOT NULL THEN _payload END AS _payload, "
        "_reject_reason, _reject_detail FROM checked"
    )


def raw_table_columns(schema: SourceSchema) -> list[tuple[str, str]]:
    """Columns of the ``raw`` table of ``schema``: declared ones, ``_extra``, load metadata."""
    return [
        *((column.name, column.type) for column in schema.columns),
        ("_extra", "JSON"),
        *LOAD_METADATA_COLUMNS,
    ]


#: Lineage columns every raw row carries (docs/design.md §2).
LOAD_METADATA_COLUMNS: list[tuple[str, str]] = [
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_ingested_at", "TIMESTAMP"),
    ("_load_id", "VARCHAR"),
]
