"""Per-system exports of a generated :class:`~ingest.generator.state.World` into the landing.

One module per source system. Formats are documented field by field in docs/sources.md; keep
the two in step.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.generator.exports.concur import write_concur
from ingest.generator.exports.config import write_config
from ingest.generator.exports.erp import write_erp
from ingest.generator.exports.harvest import (
    HarvestIds,
    write_harvest_snapshots,
    write_harvest_time_entries,
)
from ingest.generator.exports.hris import write_hris
from ingest.generator.exports.mdm import write_mdm
from ingest.generator.exports.salesforce import write_salesforce
from ingest.generator.exports.toggl import write_toggl
from ingest.generator.state import World
from ingest.generator.writers import Landing


def write_all(w: World, landing: Landing, tick: Callable[[str], None]) -> None:
    """Write every system's files, reporting each stage to ``tick``."""
    ids = HarvestIds(w)
    write_harvest_time_entries(w, ids, landing)
    tick("harvest time entries")
    write_harvest_snapshots(w, ids, landing)
    tick("harvest master data")
    write_toggl(w, landing)
    tick("toggl")
    write_concur(w, landing)
    tick("concur")
    write_salesforce(w, landing)
    write_hris(w, landing)
    write_mdm(w, landing)
    tick("salesforce, hris, mdm")
    write_erp(w, landing)
    write_config(w, landing)
    tick("erp, config")
