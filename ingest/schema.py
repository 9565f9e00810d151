"""Declared schemas of landed source entities, and the SQL that validates rows against them.

A :class:`SourceSchema` says which fields an entity has, their warehouse types, which are
required, and the ranges a value must fall in. :func:`validated_select` turns it into one
set-based DuckDB query that types every field and gives each row either no reject reason
(it goes to ``raw``) or the first rule it breaks (it goes to ``quarantine.rejected_rows``).
Validation in SQL keeps memory flat and runs at DuckDB speed on millions of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

#: Row-level reject reasons (``quarantine.rejected_rows.reason``).
MISSING_REQUIRED_FIELD = "missing_required_field"
INVALID_TYPE = "invalid_type"
OUT_OF_RANGE = "out_of_range"
NOT_AN_OBJECT = "not_an_object"


@dataclass(frozen=True)
class Column:
    """One field of a source entity.

    ``source`` is where the value comes from in the record: a JSON path such as
    ``user.id`` for JSON sources, or the header name for CSV sources (default: ``name``).
    ``type`` is the DuckDB type of the raw column; ``JSON`` keeps a nested value as JSON.
    """

    name: str
    type: str
    source: str | None = None
    required: bool = False
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    description: str = ""

    @property
    def source_path(self) -> str:
        """Dotted location of the value in the source record."""
        return self.source or self.name


@dataclass(frozen=True)
class SourceSchema:
    """The declared shape of one landed entity (``<system>/<entity>``)."""

    system: str
    entity: str
    columns: Sequence[Column]
    key: Sequence[str] = field(default_factory=tuple)
    description: str = ""

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


def _json_text(record: str, column: Column) -> str:
    path = quote_literal("$." + column.source_path)
    return f"({record} ->> {path})"


def validated_select(schema: SourceSchema, records: str, record_column: str = "record") -> str:
    """Build a query that types and validates JSON records against ``schema``.

    ``records`` is a relation with columns ``_row_number`` and ``record_column`` (one JSON
    value per source record). The query returns every declared column (typed, NULL when
    invalid), ``_extra`` (undeclared top-level keys as a JSON object, or NULL),
    ``_payload`` (the record as received), ``_reject_reason`` and ``_reject_detail``.
    """
    record = quote_identifier(record_column)
    typed: list[str] = []
    checks: list[tuple[str, str, str]] = [
        (
            f"coalesce(json_type({record}) <> 'OBJECT', true)",
            NOT_AN_OBJECT,
            "record is not an object",
        )
    ]
    for column in schema.columns:
        text = _json_text(record, column)
        if column.type.upper() == "JSON":
            value = f"({record} -> {quote_literal('$.' + column.source_path)})"
            typed.append(f"nullif({value}, 'null'::JSON) AS {quote_identifier(column.name)}")
        else:
            value = f"TRY_CAST({text} AS {column.type})"
            typed.append(f"{value} AS {quote_identifier(column.name)}")
        if column.required:
            checks.append(
                (f"{text} IS NULL", MISSING_REQUIRED_FIELD, f"{column.source_path} is missing")
            )
        if column.type.upper() != "JSON":
            checks.append(
                (
                    f"{text} IS NOT NULL AND {value} IS NULL",
                    INVALID_TYPE,
                    f"{column.source_path} is not a valid {column.type.lower()}",
                )
            )
        if column.minimum is not None:
            checks.append(
                (
                    f"{value} < {column.minimum}",
                    OUT_OF_RANGE,
                    f"{column.source_path} is below {column.minimum}",
                )
            )
        if column.maximum is not None:
            checks.append(
                (
                    f"{value} > {column.maximum}",
                    OUT_OF_RANGE,
                    f"{column.source_path} is above {column.maximum}",
                )
            )

    reason = (
        "CASE "
        + " ".join(f"WHEN {condition} THEN {quote_literal(code)}" for condition, code, _ in checks)
        + " END"
    )
    detail = (
        "CASE "
        + " ".join(
            f"WHEN {condition} THEN {quote_literal(message)}" for condition, _, message in checks
        )
        + " END"
    )
    known = "[" + ", ".join(quote_literal(name) for name in schema.top_level_fields) + "]"
    extra_entries = (
        f"list_filter(map_entries(TRY_CAST({record} AS MAP(VARCHAR, JSON))), "
        f"lambda e: NOT list_contains({known}, e.key))"
    )
    extra = (
        f"CASE WHEN len({extra_entries}) > 0 "
        f"THEN to_json(map_from_entries({extra_entries})) END AS _extra"
    )
    return (
        "SELECT _row_number, "
        + ", ".join(typed)
        + f", {extra}, {record}::JSON AS _payload, {reason} AS _reject_reason, "
        + f"{detail} AS _reject_detail FROM {records}"
    )


def raw_table_columns(schema: SourceSchema) -> list[tuple[str, str]]:
    """Columns of the ``raw`` table of ``schema``: declared ones, ``_extra``, load metadata."""
    return [
        *((column.name, column.type) for column in schema.columns),
        ("_extra", "JSON"),
        *LOAD_METADATA_COLUMNS,
    ]


#: Lineage columns every raw row carries (DESIGN §2).
LOAD_METADATA_COLUMNS: list[tuple[str, str]] = [
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_ingested_at", "TIMESTAMP"),
    ("_load_id", "VARCHAR"),
]
