"""Toggl Track (PSA of the acquired subsidiary NL01): time entries and API v9 projects.

Time entries arrive in either of the formats Toggl ships (field reference:
``docs/sources.md``), read into one raw table:

* the **detailed-report CSV** with its stock columns (``User`` ... ``Tags``, then an optional
  ``Amount (<currency>)``), optionally followed by columns an integration may add: the entry
  id and the approval audit (:data:`EXTRA_COLUMNS`). Toggl's own export has no entry id, so a
  file without ``Time entry ID`` gets a derived key (:func:`derived_key_sql`);
* the **API v9 time-entry JSON** (``GET /api/v9/me/time_entries``: a top-level array), whose
  timestamps are converted to UTC. A running entry (negative ``duration``) is not a completed
  entry yet: it is quarantined as ``unexpected_record_type`` and loads once an export carries
  it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from ingest.schema import Column, SourceSchema, quote_identifier, quote_literal
from ingest.sources.base import (
    UNEXPECTED_STRUCTURE,
    CsvReader,
    FileRejected,
    JsonDocumentReader,
    SourceEntity,
    csv_header,
    file_sql,
    without_bom,
)
from ingest.sources.cadence import PSA_HOURLY

#: The detailed report's stock columns, in Toggl's order: the raw column each one fills.
#: ``Amount (<currency>)`` may follow (:data:`AMOUNT_HEADER`).
STOCK_COLUMNS = {
    "User": "user_name",
    "Email": "email",
    "Client": "client",
    "Project": "project",
    "Task": "task",
    "Description": "description",
    "Billable": "billable",
    "Start date": "start_date",
    "Start time": "start_time",
    "End date": "end_date",
    "End time": "end_time",
    "Duration": "duration",
    "Tags": "tags",
}

#: ``Amount (USD)``, ``Amount (EUR)``, ...: the workspace currency; ``Amount ()`` when it has
#: none. The column is absent when the report hides amounts.
AMOUNT_HEADER = re.compile(r"Amount \((?P<currency>[A-Z]{3})?\)")

#: Columns an integration may add after the stock ones (read when present): the entry id and
#: the approval audit, which Toggl's own export does not carry.
EXTRA_COLUMNS = {
    "Time entry ID": "time_entry_id",
    "Approval status": "approval_status",
    "Submitted at": "submitted_at",
    "Approved at": "approved_at",
    "Updated at": "updated_at",
}

#: API v9 time-entry fields and the raw column each fills (``start``/``stop`` are split below).
API_FIELDS = {
    "id": "time_entry_id",
    "workspace_id": "workspace_id",
    "user_id": "user_id",
    "project_id": "project_id",
    "task_id": "task_id",
    "billable": "billable",
    "description": "description",
    "at": "updated_at",
    "server_deleted_at": "deleted_at",
    # only with ``meta=true``
    "user_name": "user_name",
    "client_name": "client",
    "project_name": "project",
    "task_name": "task",
}
#: API fields read into other columns (start, stop, duration, tags) or legacy aliases and
#: write-only flags of the ones above: known, so not schema drift in ``_extra``.
_API_OTHER_FIELDS = (
    "start",
    "stop",
    "duration",
    "tags",
    "tag_ids",
    "duronly",
    "uid",
    "wid",
    "pid",
    "tid",
    "permissions",
    "shared_with",
)

TIME_ENTRIES = SourceSchema(
    system="toggl",
    entity="time_entries",
    key=("time_entry_id",),
    description="Time entries of the Toggl Track workspace (NL01): detailed-report CSV or "
    "API v9 JSON, every exported version.",
    columns=(
        Column("user_name", "VARCHAR", source="User"),
        Column("email", "VARCHAR", source="Email", description="CSV only."),
        Column("client", "VARCHAR", source="Client"),
        Column("project", "VARCHAR", source="Project"),
        Column("task", "VARCHAR", source="Task"),
        Column("description", "VARCHAR", source="Description"),
        Column("billable", "BOOLEAN", source="Billable", required=True),
        Column("start_date", "DATE", source="Start date", required=True),
        Column("start_time", "TIME", source="Start time", description="24-hour clock."),
        Column("end_date", "DATE", source="End date"),
        Column("end_time", "TIME", source="End time"),
        Column("duration", "INTERVAL", source="Duration", required=True),
        Column("tags", "VARCHAR", source="Tags", description="Comma-separated tag names."),
        Column(
            "amount",
            "DECIMAL(18, 2)",
            source="Amount",
            description="The report's amount, in amount_currency.",
        ),
        Column(
            "amount_currency",
            "VARCHAR",
            description="Currency of the Amount header (USD in `Amount (USD)`).",
        ),
        Column(
            "time_entry_id",
            "BIGINT",
            source="Time entry ID",
            required=True,
            description="Toggl's id (API, or an integration's CSV column); else derived "
            "(negative, see docs/sources.md).",
        ),
        Column("approval_status", "VARCHAR", source="Approval status"),
        Column("submitted_at", "TIMESTAMP", source="Submitted at"),
        Column("approved_at", "TIMESTAMP", source="Approved at"),
        Column("updated_at", "TIMESTAMP", source="Updated at", description="API: `at`."),
        Column("workspace_id", "BIGINT", description="API only."),
        Column("user_id", "BIGINT", description="API only."),
        Column("project_id", "BIGINT", description="API only."),
        Column("task_id", "BIGINT", description="API only."),
        Column("deleted_at", "TIMESTAMP", description="API `server_deleted_at` (UTC)."),
        Column(
            "time_zone",
            "VARCHAR",
            description="Zone of the start and end columns: UTC for API rows; null for the "
            "CSV, whose times are wall-clock in the exporting profile's zone.",
        ),
    ),
)


def _time_24h(text: str) -> str:
    """SQL: a ``hh:MM:SS AM/PM`` value as ``HH:MM:SS``; any other text unchanged.

    Toggl renders times in the exporting profile's format (12- or 24-hour); some exports
    render durations like times of day too (``12:20:00 AM`` = 20 minutes).
    """
    return f"coalesce(strftime(try_strptime({text}, '%I:%M:%S %p'), '%H:%M:%S'), {text})"


#: What a derived key hashes, in order (after the scope ``toggl/time_entries``).
DERIVED_KEY_FIELDS = ("email", "start_date", "start_time", "project", "task", "description")


def derived_key_sql(scope: str) -> str:
    """SQL: the key of a CSV row without ``Time entry ID``, over the normalised fields.

    The fields of :data:`DERIVED_KEY_FIELDS` (e-mail lower-cased and trimmed, start time on
    the 24-hour clock, a missing value as an empty string) and the row's occurrence among
    identical ones in the file (1, 2, ... in file order) are joined with the unit separator
    (U+001F) after ``scope``; the key is minus the first 15 hex digits of the SHA-256 of
    that text. Negative, it never equals a Toggl id; a re-export of the same entries gets
    the same keys, and two identical rows (two entries Toggl cannot tell apart) two keys.
    """
    parts = [
        f"coalesce({'lower(trim(email))' if name == 'email' else name}, '')"
        for name in DERIVED_KEY_FIELDS
    ]
    occurrence = f"row_number() OVER (PARTITION BY {', '.join(parts)} ORDER BY _row_number)"
    text = f"concat_ws(chr(31), {quote_literal(scope)}, {', '.join(parts)}, {occurrence})"
    return f"CAST(-CAST('0x' || left(sha256({text}), 15) AS BIGINT) AS VARCHAR)"


@dataclass(frozen=True)
class TimeEntryReader:
    """Reads Toggl time entries: detailed-report CSV files and API v9 JSON arrays.

    Each file is read on its own (formats and headers differ) into the temp table
    ``_toggl_entries``, with one text column per declared field, as every reader does.
    """

    batchable: bool = True

    def relation_sql(
        self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, paths: Sequence[Path]
    ) -> str:
        """Read each file by its suffix; return a query over all their records."""
        con.execute("DROP TABLE IF EXISTS _toggl_entries")
        for index, path in enumerate(paths):
            if path.name.lower().endswith(".json"):
                sql = self._api_sql(con, schema, path)
            else:
                sql = self._report_sql(con, schema, path)
            if index == 0:
                con.execute(f"CREATE TEMP TABLE _toggl_entries AS {sql} LIMIT 0")
            con.execute(f"INSERT INTO _toggl_entries BY NAME {sql}")
        return "SELECT * FROM _toggl_entries"

    def _report_sql(self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, path: Path) -> str:
        """A detailed-report CSV: stock columns required, Amount and extras optional."""
        header = csv_header(path)
        amounts = [(h, m) for h in header if (m := AMOUNT_HEADER.fullmatch(h))]
        if len(amounts) > 1:
            raise FileRejected(UNEXPECTED_STRUCTURE, "the header has more than one Amount column")
        amount_header, currency = (
            (amounts[0][0], amounts[0][1].group("currency")) if amounts else (None, None)
        )
        # The generic CSV reader checks encoding, delimiter and header, and keeps unknown
        # columns in _extra; it reads this file's own Amount header, and requires every
        # stock column (values in them are checked per row, by the schema).
        read_by_name = {**STOCK_COLUMNS, **EXTRA_COLUMNS}
        file_schema = replace(
            schema,
            columns=tuple(
                Column(name, "VARCHAR", source=source, required=source in STOCK_COLUMNS)
                for source, name in read_by_name.items()
            )
            + ((Column("amount", "VARCHAR", source=amount_header),) if amount_header else ()),
        )
        relation = CsvReader().relation_sql(con, file_schema, [path])
        currency_sql = quote_literal(currency) if currency else "NULL::VARCHAR"
        values = {
            **{name: quote_identifier(name) for name in read_by_name.values()},
            "start_time": _time_24h("start_time"),
            "end_time": _time_24h("end_time"),
            "duration": _time_24h("duration"),
            "amount": "amount" if amount_header else "NULL::VARCHAR",
            "amount_currency": currency_sql,
        }
        normalised = _select_fields(schema, values, "_extra, _payload", f"({relation})")
        key = (
            "time_entry_id"
            if "Time entry ID" in header
            else derived_key_sql(f"{schema.system}/{schema.entity}")
        )
        return f"SELECT * REPLACE ({key} AS time_entry_id) FROM ({normalised})"

    def _api_sql(self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, path: Path) -> str:
        """An API v9 time-entry list: a top-level array of time entry objects."""
        # An offset-less timestamp then reads as UTC, not as the machine's zone.
        con.execute("SET TimeZone = 'UTC'")
        (kind,) = con.execute(
            f"SELECT json_type({without_bom('content')}) FROM read_text({file_sql(path)})"
        ).fetchone() or (None,)
        if kind != "ARRAY":
            raise FileRejected(
                UNEXPECTED_STRUCTURE,
                f"{path.name}: expected a JSON array of time entries, found "
                f"{(kind or 'nothing').lower()}",
            )
        known = "[" + ", ".join(quote_literal(k) for k in (*API_FIELDS, *_API_OTHER_FIELDS)) + "]"

        def field(name: str) -> str:
            return f"json_extract_string(r, {quote_literal('$.' + name)})"

        def utc(name: str, fmt: str = "%Y-%m-%d %H:%M:%S.%f") -> str:
            # The timestamp in UTC (formatted), or the text as received when it does not parse.
            text = field(name)
            return (
                f"coalesce(strftime(TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC', "
                f"'{fmt}'), {text})"
            )

        duration = f"TRY_CAST({field('duration')} AS BIGINT)"
        values = {
            **{name: field(source) for source, name in API_FIELDS.items()},
            "updated_at": utc("at"),
            "deleted_at": utc("server_deleted_at"),
            "start_date": utc("start", "%Y-%m-%d"),
            "start_time": utc("start", "%H:%M:%S"),
            "end_date": utc("stop", "%Y-%m-%d"),
            "end_time": utc("stop", "%H:%M:%S"),
            "duration": f"CASE WHEN {duration} >= 0 THEN {duration} || ' seconds' "
            f"ELSE {field('duration')} END",
            "tags": "nullif(array_to_string(CAST(json_extract(r, '$.tags') AS VARCHAR[]), "
            "', '), '')",
            "time_zone": "'UTC'",
        }
        extra_entries = (
            "list_filter(map_entries(TRY_CAST(r AS MAP(VARCHAR, JSON))), "
            f"lambda e: NOT list_contains({known}, e.key))"
        )
        records = (
            "(SELECT _path, unnest(json_extract(content, '$[*]')) AS r, "
            "generate_subscripts(json_extract(content, '$[*]'), 1) AS _row_number FROM ("
            f"SELECT filename AS _path, {without_bom('content')} AS content "
            f"FROM read_text({file_sql(path)})))"
        )
        return _select_fields(
            schema,
            values,
            f"CASE WHEN len({extra_entries}) > 0 THEN to_json(map_from_entries("
            f"{extra_entries})) END AS _extra, r AS _payload",
            records,
            is_record="starts_with(r::VARCHAR, '{')",
            record_type_error=f"CASE WHEN {duration} < 0 THEN 'a running entry (duration ' || "
            f"{duration} || ', no stop): not a completed time entry yet' END",
        )


def _select_fields(
    schema: SourceSchema,
    values: dict[str, str],
    trailing: str,
    relation: str,
    *,
    is_record: str = "_is_record",
    record_type_error: str = "_record_type_error",
) -> str:
    """SQL: the relation's records with one text column per declared field (null if absent)."""
    fields = ", ".join(
        f"CAST({values.get(c.name, 'NULL')} AS VARCHAR) AS {quote_identifier(c.name)}"
        for c in schema.columns
    )
    return (
        f"SELECT _path, _row_number, {is_record} AS _is_record, "
        f"{record_type_error} AS _record_type_error, {fields}, {trailing} FROM {relation}"
    )


PROJECTS = SourceSchema(
    system="toggl",
    entity="projects",
    key=("id",),
    snapshot=True,
    description="Toggl projects (API v9 workspace projects, full snapshot).",
    columns=(
        Column("id", "BIGINT", required=True),
        Column("workspace_id", "BIGINT"),
        Column("client_id", "BIGINT"),
        Column("name", "VARCHAR", required=True),
        Column("is_private", "BOOLEAN"),
        Column("active", "BOOLEAN", required=True),
        Column("at", "TIMESTAMP", required=True, description="Last update."),
        Column("created_at", "TIMESTAMP"),
        Column("server_deleted_at", "TIMESTAMP"),
        Column("color", "VARCHAR"),
        Column("billable", "BOOLEAN"),
        Column("template", "BOOLEAN"),
        Column("auto_estimates", "BOOLEAN"),
        Column("estimated_hours", "DECIMAL(12, 2)"),
        Column("rate", "DECIMAL(18, 4)", description="Project default rate."),
        Column("rate_last_updated", "TIMESTAMP"),
        Column("currency", "VARCHAR"),
        Column("recurring", "BOOLEAN"),
        Column("fixed_fee", "DECIMAL(18, 2)"),
        Column("actual_hours", "DECIMAL(12, 2)"),
        Column("start_date", "DATE"),
        Column("end_date", "DATE"),
    ),
)

#: How often the firm loads toggl (ingest/sources/cadence.py).
CADENCE = PSA_HOURLY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = (TIME_ENTRIES,)

ENTITIES = (
    SourceEntity(schema=TIME_ENTRIES, reader=TimeEntryReader(), file_suffixes=(".csv", ".json")),
    SourceEntity(schema=PROJECTS, reader=JsonDocumentReader(), file_suffixes=(".json",)),
)
