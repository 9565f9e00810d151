"""SAP Concur Standard Accounting Extract (SAE): the journal lines of approved expense reports.

An SAE file is pipe-delimited without a header row: one ``EXTRACT`` record
(``EXTRACT|Batch Date|Record Count|Journal Amount Total|Batch ID``), then ``DETAIL`` records
of :data:`DETAIL_FIELD_COUNT` positional fields each, as Concur publishes them (docs/sources.md).
One DETAIL record is one journal line: an entry allocated over two projects, or with an
offsetting credit, has several records sharing its Report Entry Id.

Which positions the warehouse reads, and what the tenant-defined custom fields hold, is the
tenant's column map ``ingest/config/concur_sae_columns.csv`` (shared with the generator); the
other positions are kept, when not empty, in ``_extra`` keyed by position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import duckdb

from ingest.config import SAE_COLUMNS_FILE, read_csv
from ingest.schema import (
    POSTED_AMOUNT_MISMATCH,
    Column,
    RowCheck,
    SourceSchema,
    quote_identifier,
    quote_literal,
    typed_sql,
)
from ingest.sources.base import (
    CONTROL_TOTAL_MISMATCH,
    UNEXPECTED_STRUCTURE,
    FileRejected,
    SourceEntity,
    _check_utf8,
    _first_line,
    _stage_files,
    file_sql,
)
from ingest.sources.cadence import EXPENSES_DAILY

#: Fields of a published SAE DETAIL record (Concur's Standard Accounting Extract layout).
DETAIL_FIELD_COUNT = 400
#: Fields of the EXTRACT header record, in published order.
EXTRACT_FIELDS = ("Constant", "Batch Date", "Record Count", "Journal Amount Total", "Batch ID")

#: How the control total reads each Journal Amount.
_AMOUNT = Column("journal_amount", "DECIMAL(38, 8)")

_TYPES = {"text": "VARCHAR", "integer": "BIGINT", "date": "DATE", "timestamp": "TIMESTAMP"}


@dataclass(frozen=True)
class SaeField:
    """One DETAIL position the warehouse reads: the published name and the raw column."""

    position: int
    field_name: str
    column: str
    type: str
    required: bool
    description: str

    @property
    def warehouse_type(self) -> str:
        """DuckDB type of the raw column (``Y/N`` flags are booleans)."""
        if self.type == "Y/N":
            return "BOOLEAN"
        decimal = re.fullmatch(r"decimal\((\d+) (\d+)\)", self.type)
        if decimal:
            return f"DECIMAL({decimal.group(1)}, {decimal.group(2)})"
        return _TYPES[self.type]


@cache
def sae_fields() -> tuple[SaeField, ...]:
    """The tenant's column map: the DETAIL positions read, in position order."""
    fields = tuple(
        SaeField(
            position=int(row["position"]),
            field_name=row["field_name"],
            column=row["column"],
            type=row["type"],
            required=row["required"] == "yes",
            description=row["description"],
        )
        for row in sorted(read_csv(SAE_COLUMNS_FILE), key=lambda r: int(r["position"]))
    )
    positions = [f.position for f in fields]
    columns = [f.column for f in fields]
    if len(set(positions)) != len(positions) or len(set(columns)) != len(columns):
        raise ValueError(f"{SAE_COLUMNS_FILE}: a position or a column is mapped twice")
    if not all(1 <= p <= DETAIL_FIELD_COUNT for p in positions):
        raise ValueError(f"{SAE_COLUMNS_FILE}: positions must be within 1..{DETAIL_FIELD_COUNT}")
    return fields


def sae_position(column: str) -> int:
    """1-based DETAIL position of the raw ``column`` in the tenant's map."""
    for field in sae_fields():
        if field.column == column:
            return field.position
    raise KeyError(f"{SAE_COLUMNS_FILE} does not map {column!r}")


def sae_detail_record(values: dict[str, str]) -> str:
    """A DETAIL line with ``values`` (raw column -> text) at their positions, others empty."""
    fields = [""] * DETAIL_FIELD_COUNT
    for column, value in values.items():
        fields[sae_position(column) - 1] = value
    return "|".join(fields)


def sae_detail_values(line: str) -> dict[str, str]:
    """The mapped fields of a DETAIL line, by raw column (the inverse of the above)."""
    fields = line.split("|")
    return {f.column: fields[f.position - 1] for f in sae_fields()}


@dataclass(frozen=True)
class SaeReader:
    """Reads SAE files: the ``EXTRACT`` record's control totals, then the DETAIL records.

    The record count and the journal amount total of the ``EXTRACT`` record must match the
    file's DETAIL records (the total is the signed sum of Journal Amount), else the file is
    rejected whole. A record that is not a DETAIL record of :data:`DETAIL_FIELD_COUNT` fields
    is rejected as ``unexpected_record_type``. Fields are split on ``|``: the published
    layout has no quoting.
    """

    batchable: bool = True

    def relation_sql(
        self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, paths: Sequence[Path]
    ) -> str:
        """Check each file's control totals; return a query over their DETAIL records."""
        return _stage_files(con, schema, paths, self._file_sql)

    def _file_sql(self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, path: Path) -> str:
        _check_utf8(path)
        header = _first_line(path).split("|")
        if header[0] != "EXTRACT" or len(header) != len(EXTRACT_FIELDS):
            raise FileRejected(
                UNEXPECTED_STRUCTURE,
                "the first row is not an EXTRACT row of " + "|".join(EXTRACT_FIELDS),
            )
        try:
            expected_count = int(header[2])
            expected_total = Decimal(header[3])
        except (ValueError, InvalidOperation) as error:
            raise FileRejected(
                UNEXPECTED_STRUCTURE, f"unreadable EXTRACT control totals: {header[2:4]}"
            ) from error
        # Lines split in SQL: every record keeps its own field count, and the positions
        # read are the tenant's, whatever the record's length.
        lines = (
            f"SELECT n - 1 AS _row_number, string_split(rtrim(line, chr(13)), '|') AS f "
            "FROM (SELECT unnest(lines) AS line, generate_subscripts(lines, 1) AS n FROM "
            "(SELECT string_split(rtrim(content, chr(10) || chr(13)), chr(10)) AS lines "
            f"FROM read_text({file_sql(path)}))) WHERE n > 1"
        )
        amount = sae_position("journal_amount")
        count, total = con.execute(
            # Readable amounts only, read as strictly as the rows are (``1_0.5`` is none).
            f"SELECT count(*), coalesce(sum({typed_sql(_AMOUNT, f'f[{amount}]')}), 0) "
            f"FROM ({lines}) WHERE f[1] = 'DETAIL'"
        ).fetchall()[0]
        if count != expected_count or Decimal(total) != expected_total:
            raise FileRejected(
                CONTROL_TOTAL_MISMATCH,
                f"EXTRACT row says {expected_count} DETAIL rows totalling {expected_total}; "
                f"the file has {count} totalling {total.normalize():f}",
            )
        by_column = {f.column: f.position for f in sae_fields()}
        fields = [
            f"nullif(f[{by_column[c.name]}], '') AS {quote_identifier(c.name)}"
            for c in schema.columns
        ]
        mapped = "[" + ", ".join(str(p) for p in by_column.values()) + "]"
        present = (
            "list_filter(list_transform(range(1, len(f) + 1), "
            "lambda i: {'key': i::VARCHAR, 'value': f[i]}), lambda e: e.value <> '')"
        )
        unmapped = f"list_filter({present}, lambda e: NOT list_contains({mapped}, e.key::INT))"
        return (
            f"SELECT {quote_literal(str(path))} AS _path, _row_number, true AS _is_record, "
            "CASE WHEN f[1] IS DISTINCT FROM 'DETAIL' THEN 'expected a DETAIL row, found ' "
            "|| coalesce(nullif(f[1], ''), 'an empty row') "
            f"WHEN len(f) <> {DETAIL_FIELD_COUNT} THEN 'expected {DETAIL_FIELD_COUNT} "
            "fields, found ' || len(f) END AS _record_type_error, "
            + ", ".join(fields)
            + f", CASE WHEN len({unmapped}) > 0 THEN to_json(map_from_entries({unmapped})) "
            f"END AS _extra, to_json(map_from_entries({present})) AS _payload FROM ({lines})"
        )


def _posted_amount_check() -> RowCheck:
    """Each report entry's journal lines add up to its Report Entry Posted Amount.

    Posted Amount (124) is the entry's amount in the reimbursement currency, repeated on every
    line; Journal Amount (169) is each line's signed share. The lines of an entry in a file
    must repeat one Posted Amount and sum to it, either all of them (allocations, a refund's
    credit) or those on its side (a debit with its offsetting credit); otherwise which amount
    is true cannot be told, and every line of the entry is rejected. Lines without a Posted
    Amount are not checked.
    """
    posted = "TRY_CAST(report_entry_posted_amount AS DECIMAL(38, 8))"
    journal = "TRY_CAST(journal_amount AS DECIMAL(38, 8))"
    lines = f"coalesce(sum({journal}) {{over}}, 0)"
    same_side = (
        f"coalesce(sum(CASE WHEN sign({journal}) = sign({posted}) THEN {journal} END) {{over}}, 0)"
    )
    return RowCheck(
        POSTED_AMOUNT_MISMATCH,
        group=("report_entry_id",),
        detail=f"CASE WHEN {posted} IS NULL OR report_entry_id IS NULL THEN NULL "
        f"WHEN min({posted}) {{over}} <> max({posted}) {{over}} "
        "THEN 'Report Entry Id ' || report_entry_id || ': its lines repeat different Posted "
        "Amounts' "
        f"WHEN {lines} <> {posted} AND {same_side} <> {posted} "
        "THEN 'Report Entry Id ' || report_entry_id || ': Posted Amount ' || "
        f"report_entry_posted_amount || ' but its Journal Amounts sum to ' || {lines}::DOUBLE END",
    )


EXPENSES = SourceSchema(
    system="concur",
    entity="expenses",
    # One record per journal line: the lines of an allocated entry share its Report Entry
    # Id and differ by journal or allocation key.
    key=("report_entry_id", "journal_key", "allocation_key"),
    description=(
        "Journal lines of approved Concur expense reports (one or more per report entry), "
        "one weekly SAE batch per file."
    ),
    columns=tuple(
        # No ranges: a negative amount is a credit, and value rules are exceptions, not
        # load errors (docs/design.md §2).
        Column(
            f.column,
            f.warehouse_type,
            source=f.field_name,
            required=f.required,
            description=f"{f.description} (field {f.position}, `{f.field_name}`)".lstrip(),
        )
        for f in sae_fields()
    ),
    row_checks=(_posted_amount_check(),),
)

#: How often the firm loads concur (ingest/sources/cadence.py).
CADENCE = EXPENSES_DAILY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = (EXPENSES,)

ENTITIES = (SourceEntity(schema=EXPENSES, reader=SaeReader(), file_suffixes=(".txt",)),)
