"""The identity mapping maintained by the MDM team (a landed source, not a dbt seed)."""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import CsvReader, SourceEntity
from ingest.sources.cadence import MASTER_DATA_NIGHTLY

IDENTITY_MAPPINGS = SourceSchema(
    system="mdm",
    entity="identity_mappings",
    key=("source_system", "entity", "source_id"),
    snapshot=True,
    description="Source record -> canonical record, where no explicit key links them.",
    columns=(
        Column("source_system", "VARCHAR", required=True),
        Column("entity", "VARCHAR", required=True),
        Column("source_id", "VARCHAR", required=True),
        Column("target_system", "VARCHAR", required=True),
        Column("target_id", "VARCHAR", required=True),
        Column("maintained_by", "VARCHAR"),
        Column("updated_at", "TIMESTAMP"),
    ),
)

#: How often the firm loads mdm (ingest/sources/cadence.py).
CADENCE = MASTER_DATA_NIGHTLY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = ()

ENTITIES = (SourceEntity(schema=IDENTITY_MAPPINGS, reader=CsvReader(), file_suffixes=(".csv",)),)
