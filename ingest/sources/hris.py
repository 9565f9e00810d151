"""HR system CSV exports (snapshots): workers (including leavers) and holiday calendars."""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import CsvReader, SourceEntity
from ingest.sources.cadence import MASTER_DATA_NIGHTLY

WORKERS = SourceSchema(
    system="hris",
    entity="workers",
    key=("employee_id",),
    snapshot=True,
    description="Workers with role, practice, legal entity, cost rate and capacity.",
    columns=(
        Column("employee_id", "VARCHAR", required=True),
        Column("first_name", "VARCHAR"),
        Column("last_name", "VARCHAR"),
        Column("email", "VARCHAR", required=True),
        Column("role", "VARCHAR", required=True),
        Column("practice", "VARCHAR", required=True),
        Column("region", "VARCHAR", required=True),
        Column("legal_entity", "VARCHAR", required=True),
        Column("cost_center", "VARCHAR"),
        Column("cost_rate", "DECIMAL(18, 4)", required=True),
        Column("cost_rate_currency", "VARCHAR", required=True),
        Column("weekly_capacity_hours", "DECIMAL(6, 2)", required=True),
        Column("employment_type", "VARCHAR"),
        Column("hire_date", "DATE", required=True),
        Column("termination_date", "DATE"),
        Column("updated_at", "TIMESTAMP", required=True),
    ),
)

HOLIDAYS = SourceSchema(
    system="hris",
    entity="holidays",
    key=("region", "holiday_date"),
    snapshot=True,
    description="Public holidays, one calendar per region.",
    columns=(
        Column("region", "VARCHAR", required=True),
        Column("holiday_date", "DATE", required=True),
        Column("holiday_name", "VARCHAR"),
    ),
)

#: How often the firm loads hris (ingest/sources/cadence.py).
CADENCE = MASTER_DATA_NIGHTLY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = ()

ENTITIES = tuple(
    SourceEntity(schema=schema, reader=CsvReader(), file_suffixes=(".csv",))
    for schema in (WORKERS, HOLIDAYS)
)
