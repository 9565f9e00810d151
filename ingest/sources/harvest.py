"""Harvest (PSA) API v2 exports: list pages of JSON, one entity per landing folder.

Time entries follow Harvest's time entry object, plus the approval audit fields
``approval_status``, ``submitted_at`` and ``approved_at`` (DESIGN §2). Field reference:
``docs/sources.md``.
"""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import JsonPagesReader, SourceEntity

#: The most hours one time entry may carry; more is a keying error, not a long day.
MAX_ENTRY_HOURS = 24

TIME_ENTRIES = SourceSchema(
    system="harvest",
    entity="time_entries",
    key=("id",),
    description="Time entries logged by consultants in Harvest, with approval audit fields.",
    columns=(
        Column("id", "BIGINT", required=True, description="Harvest time entry id."),
        Column("spent_date", "DATE", required=True, description="Work date."),
        Column(
            "hours",
            "DECIMAL(12, 4)",
            required=True,
            minimum=0,
            maximum=MAX_ENTRY_HOURS,
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
        Column("billable_rate", "DECIMAL(18, 4)", minimum=0),
        Column("cost_rate", "DECIMAL(18, 4)", minimum=0),
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
    ),
)

ENTITIES = (
    SourceEntity(
        schema=TIME_ENTRIES, reader=JsonPagesReader("time_entries"), file_suffixes=(".json",)
    ),
)
