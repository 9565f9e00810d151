"""Harvest (PSA) API v2 exports: list pages of JSON, one entity per landing folder.

Time entries follow Harvest's time entry object, plus the approval audit fields
``approval_status``, ``submitted_at`` and ``approved_at`` (docs/design.md §2). Field reference:
``docs/sources.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.schema import Column, SourceSchema
from ingest.sources.base import JsonDocumentReader, SourceEntity
from ingest.sources.cadence import PSA_HOURLY

TIME_ENTRIES = SourceSchema(
    system="harvest",
    entity="time_entries",
    key=("id",),
    version="updated_at",
    page_level=("export_from", "export_to"),
    description="Time entries logged by consultants in Harvest, with approval audit fields.",
    columns=(
        Column("id", "BIGINT", required=True, description="Harvest time entry id."),
        Column("spent_date", "DATE", required=True, description="Work date."),
        Column(
            "hours",
            "DECIMAL(12, 4)",
            required=True,
            description="Hours logged.",
        ),
        Column("rounded_hours", "DECIMAL(12, 4)"),
        Column("notes", "VARCHAR"),
        Column("is_locked", "BOOLEAN"),
        Column("is_closed", "BOOLEAN"),
        Column("is_billed", "BOOLEAN"),
        Column("is_running", "BOOLEAN"),
        Column("billable", "BOOLEAN", required=True),
        Column("budgeted", "BOOLEAN"),
        Column("billable_rate", "DECIMAL(18, 4)"),
        Column("cost_rate", "DECIMAL(18, 4)"),
        Column("created_at", "TIMESTAMP", required=True),
        Column("updated_at", "TIMESTAMP", required=True),
        Column("user_id", "BIGINT", source="user.id", required=True),
        Column("user_name", "VARCHAR", source="user.name"),
        Column("client_id", "BIGINT", source="client.id"),
        Column("client_name", "VARCHAR", source="client.name"),
        Column("client_currency", "VARCHAR", source="client.currency"),
        Column("project_id", "BIGINT", source="project.id", required=True),
        Column("project_name", "VARCHAR", source="project.name"),
        Column("project_code", "VARCHAR", source="project.code"),
        Column("task_id", "BIGINT", source="task.id", required=True),
        Column("task_name", "VARCHAR", source="task.name"),
        Column("user_assignment_id", "BIGINT", source="user_assignment.id"),
        Column("task_assignment_id", "BIGINT", source="task_assignment.id"),
        Column("invoice_id", "BIGINT", source="invoice.id"),
        Column("invoice_number", "VARCHAR", source="invoice.number"),
        Column("external_reference", "JSON"),
        Column("timer_started_at", "TIMESTAMP"),
        Column("started_time", "VARCHAR"),
        Column("ended_time", "VARCHAR"),
        Column("hours_without_timer", "DECIMAL(12, 4)"),
        Column("locked_reason", "VARCHAR"),
        Column("approval_status", "VARCHAR", required=True),
        Column("submitted_at", "TIMESTAMP"),
        Column("approved_at", "TIMESTAMP"),
        Column(
            "export_from",
            "DATE",
            description="Page-level: the `from` of a spent-date window export (read from the "
            "page's `links.first`); null for an `updated_since` export.",
        ),
        Column("export_to", "DATE", description="Page-level: the window's `to` (inclusive)."),
    ),
)

#: Raw columns filled from the page, not from the record: the query parameter of the
#: request each one repeats.
WINDOW_PARAMETERS = {"export_from": "from", "export_to": "to"}


@dataclass(frozen=True)
class TimeEntryPageReader(JsonDocumentReader):
    """Reads time-entry pages, with the date window of the export that wrote them.

    Harvest echoes a list request's query parameters in the page's pagination links (a
    client pages by following ``links.next``), so ``links.first`` of an export by spent date
    (``from``/``to``) carries its window on every page: what tells a re-export of the window
    that no longer lists an entry (deleted in Harvest) from an export that never covered it.
    """

    list_key: str | None = "time_entries"

    def relation_sql(
        self, con: duckdb.DuckDBPyConnection, schema: SourceSchema, paths: Sequence[Path]
    ) -> str:
        """The records of the pages, their window columns read from each page's links."""
        records = super().relation_sql(con, schema, paths)
        # ``_documents`` (staged by the read above) keeps each page's ``links.first``.
        parameters = ", ".join(
            f"nullif(regexp_extract(first_link, '[?&]{parameter}=([^&#]*)', 1), '') AS {name}"
            for name, parameter in WINDOW_PARAMETERS.items()
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _page_windows AS "
            f"SELECT _path, {parameters} FROM _documents"
        )
        replaced = ", ".join(f"_page_windows.{name} AS {name}" for name in WINDOW_PARAMETERS)
        return (
            f"SELECT records.* REPLACE ({replaced}) FROM ({records}) AS records "
            "LEFT JOIN _page_windows ON records._path = _page_windows._path"
        )


PROJECTS = SourceSchema(
    system="harvest",
    entity="projects",
    key=("id",),
    snapshot=True,
    description="Harvest projects (full snapshot): code, dates, default rate, client.",
    columns=(
        Column("id", "BIGINT", required=True, description="Harvest project id."),
        Column("name", "VARCHAR", required=True),
        Column("code", "VARCHAR", description="Project code (= Salesforce PSA_Project_Code__c)."),
        Column("is_active", "BOOLEAN", required=True),
        Column("is_billable", "BOOLEAN", required=True),
        Column("is_fixed_fee", "BOOLEAN"),
        Column("bill_by", "VARCHAR"),
        Column("budget", "DECIMAL(18, 2)"),
        Column("budget_by", "VARCHAR"),
        Column("starts_on", "DATE"),
        Column("ends_on", "DATE"),
        Column("hourly_rate", "DECIMAL(18, 4)", description="Project default rate."),
        Column("fee", "DECIMAL(18, 2)"),
        Column("notes", "VARCHAR"),
        Column("cost_budget", "DECIMAL(18, 2)"),
        Column("client_id", "BIGINT", source="client.id", required=True),
        Column("client_name", "VARCHAR", source="client.name"),
        Column("client_currency", "VARCHAR", source="client.currency"),
        Column("created_at", "TIMESTAMP", required=True),
        Column("updated_at", "TIMESTAMP", required=True),
        Column("budget_is_monthly", "BOOLEAN"),
        Column("notify_when_over_budget", "BOOLEAN"),
        Column("over_budget_notification_percentage", "DECIMAL(8, 2)"),
        Column("show_budget_to_all", "BOOLEAN"),
        Column("over_budget_notification_date", "DATE"),
        Column("cost_budget_include_expenses", "BOOLEAN"),
    ),
)

CLIENTS = SourceSchema(
    system="harvest",
    entity="clients",
    key=("id",),
    snapshot=True,
    description="Harvest clients (full snapshot).",
    columns=(
        Column("id", "BIGINT", required=True),
        Column("name", "VARCHAR", required=True),
        Column("is_active", "BOOLEAN"),
        Column("address", "VARCHAR"),
        Column("statement_key", "VARCHAR"),
        Column("currency", "VARCHAR", required=True),
        Column("created_at", "TIMESTAMP"),
        Column("updated_at", "TIMESTAMP", required=True),
    ),
)

USERS = SourceSchema(
    system="harvest",
    entity="users",
    key=("id",),
    snapshot=True,
    description="Harvest users (full snapshot); email is the explicit key to HR workers.",
    columns=(
        Column("id", "BIGINT", required=True),
        Column("first_name", "VARCHAR"),
        Column("last_name", "VARCHAR"),
        Column("email", "VARCHAR", required=True),
        Column("telephone", "VARCHAR"),
        Column("timezone", "VARCHAR"),
        Column("has_access_to_all_future_projects", "BOOLEAN"),
        Column("is_contractor", "BOOLEAN"),
        Column("is_active", "BOOLEAN", required=True),
        Column("weekly_capacity", "BIGINT", description="Seconds per week."),
        Column("default_hourly_rate", "DECIMAL(18, 4)"),
        Column("cost_rate", "DECIMAL(18, 4)"),
        Column("roles", "JSON"),
        Column("access_roles", "JSON"),
        Column("avatar_url", "VARCHAR"),
        Column("created_at", "TIMESTAMP"),
        Column("updated_at", "TIMESTAMP", required=True),
    ),
)

TASKS = SourceSchema(
    system="harvest",
    entity="tasks",
    key=("id",),
    snapshot=True,
    description="Harvest tasks (full snapshot).",
    columns=(
        Column("id", "BIGINT", required=True),
        Column("name", "VARCHAR", required=True),
        Column("billable_by_default", "BOOLEAN"),
        Column("default_hourly_rate", "DECIMAL(18, 4)"),
        Column("is_default", "BOOLEAN"),
        Column("is_active", "BOOLEAN"),
        Column("created_at", "TIMESTAMP"),
        Column("updated_at", "TIMESTAMP", required=True),
    ),
)

_ASSIGNMENT_COLUMNS = (
    Column("id", "BIGINT", required=True),
    Column("is_active", "BOOLEAN"),
    Column("hourly_rate", "DECIMAL(18, 4)"),
    Column("budget", "DECIMAL(18, 2)"),
    Column("created_at", "TIMESTAMP"),
    Column("updated_at", "TIMESTAMP", required=True),
    Column("project_id", "BIGINT", source="project.id", required=True),
    Column("project_name", "VARCHAR", source="project.name"),
    Column("project_code", "VARCHAR", source="project.code"),
)

USER_ASSIGNMENTS = SourceSchema(
    system="harvest",
    entity="user_assignments",
    key=("id",),
    snapshot=True,
    description="Who may log time on which Harvest project (full snapshot).",
    columns=(
        *_ASSIGNMENT_COLUMNS,
        Column("is_project_manager", "BOOLEAN"),
        Column("use_default_rates", "BOOLEAN"),
        Column("user_id", "BIGINT", source="user.id", required=True),
        Column("user_name", "VARCHAR", source="user.name"),
    ),
)

TASK_ASSIGNMENTS = SourceSchema(
    system="harvest",
    entity="task_assignments",
    key=("id",),
    snapshot=True,
    description="Which tasks a Harvest project offers, and whether they are billable.",
    columns=(
        *_ASSIGNMENT_COLUMNS,
        Column("billable", "BOOLEAN", required=True),
        Column("task_id", "BIGINT", source="task.id", required=True),
        Column("task_name", "VARCHAR", source="task.name"),
    ),
)

#: How often the firm loads harvest (ingest/sources/cadence.py).
CADENCE = PSA_HOURLY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = (TIME_ENTRIES,)

ENTITIES = (
    SourceEntity(schema=TIME_ENTRIES, reader=TimeEntryPageReader(), file_suffixes=(".json",)),
) + tuple(
    SourceEntity(schema=schema, reader=JsonDocumentReader(schema.entity), file_suffixes=(".json",))
    for schema in (
        PROJECTS,
        CLIENTS,
        USERS,
        TASKS,
        USER_ASSIGNMENTS,
        TASK_ASSIGNMENTS,
    )
)
