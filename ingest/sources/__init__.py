"""Source formats: one module per source system, each declaring its entities.

:data:`SOURCE_ENTITIES` maps ``(system, entity)`` (the landing-zone folders
``<system>/<entity>/``) to the :class:`~ingest.sources.base.SourceEntity` that reads and
validates its files.
"""

from __future__ import annotations

from ingest.sources import concur, erp, harvest, hris, mdm, salesforce, toggl
from ingest.sources.base import FileRejected, SourceEntity

SOURCE_ENTITIES: dict[tuple[str, str], SourceEntity] = {
    (entity.schema.system, entity.schema.entity): entity
    for entity in (
        *harvest.ENTITIES,
        *toggl.ENTITIES,
        *concur.ENTITIES,
        *salesforce.ENTITIES,
        *hris.ENTITIES,
        *erp.ENTITIES,
        *mdm.ENTITIES,
    )
}

__all__ = ["SOURCE_ENTITIES", "FileRejected", "SourceEntity"]
