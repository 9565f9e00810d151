"""Source formats: one module per source system, each declaring its entities and cadence.

:data:`SOURCE_MODULES` is the registry of those modules. Each has ``ENTITIES`` (the
:class:`~ingest.sources.base.SourceEntity` of every landing-zone folder ``<system>/<entity>/``
it reads and validates), ``CADENCE`` (how often the firm loads it,
:mod:`ingest.sources.cadence`) and ``DAILY_ACTIVITY`` (the schemas of its entities of daily
activity, empty for master data and the ERP). :data:`SOURCE_ENTITIES` maps
``(system, entity)`` to its entity, :data:`SOURCE_CADENCES` a system to its cadence,
:data:`ACTIVITY_ENTITIES` lists the ``system/entity`` folders of daily activity.
"""

from __future__ import annotations

from types import ModuleType

from ingest.sources import concur, config, erp, harvest, hris, mdm, salesforce, toggl
from ingest.sources.base import FileRejected, SourceEntity
from ingest.sources.cadence import Cadence

SOURCE_MODULES: tuple[ModuleType, ...] = (
    harvest,
    toggl,
    concur,
    salesforce,
    hris,
    erp,
    mdm,
    config,
)

SOURCE_ENTITIES: dict[tuple[str, str], SourceEntity] = {
    (entity.schema.system, entity.schema.entity): entity
    for module in SOURCE_MODULES
    for entity in module.ENTITIES
}


def _system_of(module: ModuleType) -> str:
    (system,) = {entity.schema.system for entity in module.ENTITIES}
    return system


SOURCE_CADENCES: dict[str, Cadence] = {
    _system_of(module): module.CADENCE for module in SOURCE_MODULES
}

#: The landing-zone folders (``system/entity``) of the firm's daily activity.
ACTIVITY_ENTITIES: tuple[str, ...] = tuple(
    f"{schema.system}/{schema.entity}"
    for module in SOURCE_MODULES
    for schema in module.DAILY_ACTIVITY
)

__all__ = [
    "ACTIVITY_ENTITIES",
    "SOURCE_CADENCES",
    "SOURCE_ENTITIES",
    "SOURCE_MODULES",
    "FileRejected",
    "SourceEntity",
]
