"""Toggl Track (PSA of the acquired subsidiary NL01): detailed-report CSV and API v9 projects.

Field reference: ``docs/sources.md``. The time-entry CSV carries five columns our
integration adds after ``Amount (EUR)`` (entry id and approval audit), since Toggl's own
report has neither.
"""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import CsvReader, JsonDocumentReader, SourceEntity
from ingest.sources.cadence import PSA_HOURLY
from ingest.sources.harvest import APPROVAL_STATUSES

TIME_ENTRIES = SourceSchema(
    system="toggl",
    entity="time_entries",
    key=("time_entry_id",),
    description="Time entries of the Toggl Track workspace (NL01), latest change per window.",
    columns=(
        Column("user_name", "VARCHAR", source="User"),
        Column("email", "VARCHAR", source="Email", required=True),
        Column("client", "VARCHAR", source="Client"),
        Column("project", "VARCHAR", source="Project", required=True),
        Column("task", "VARCHAR", source="Task"),
        Column("description", "VARCHAR", source="Description"),
        Column("billable", "BOOLEAN", source="Billable", required=True),
        Column("start_date", "DATE", source="Start date", required=True),
        Column("start_time", "TIME", source="Start time"),
        Column("end_date", "DATE", source="End date"),
        Column("end_time", "TIME", source="End time"),
        Column("duration", "INTERVAL", source="Duration", required=True),
        Column("tags", "VARCHAR", source="Tags"),
        Column("amount_eur", "DECIMAL(18, 2)", source="Amount (EUR)", minimum=0),
        Column("time_entry_id", "BIGINT", source="Time entry ID", required=True),
        Column(
            "approval_status",
            "VARCHAR",
            source="Approval status",
            required=True,
            accepted=APPROVAL_STATUSES,
        ),
        Column("submitted_at", "TIMESTAMP", source="Submitted at"),
        Column("approved_at", "TIMESTAMP", source="Approved at"),
        Column("updated_at", "TIMESTAMP", source="Updated at", required=True),
    ),
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
        Column("rate", "DECIMAL(18, 4)", minimum=0, description="Project default rate."),
        Column("rate_last_updated", "TIMESTAMP"),
        Column("currency", "VARCHAR"),
        Column("recurring", "BOOLEAN"),
        Column("fixed_fee", "DECIMAL(18, 2)", minimum=0),
        Column("actual_hours", "DECIMAL(12, 2)"),
        Column("start_date", "DATE"),
        Column("end_date", "DATE"),
    ),
)

#: How often the firm loads toggl (ingest/sources/cadence.py).
CADENCE = PSA_HOURLY

ENTITIES = (
    SourceEntity(schema=TIME_ENTRIES, reader=CsvReader(), file_suffixes=(".csv",)),
    SourceEntity(schema=PROJECTS, reader=JsonDocumentReader(), file_suffixes=(".json",)),
)
