"""What several systems' exports share: the snapshot hour, PSA codes, month labels."""

from __future__ import annotations

from functools import cache

from ingest.generator.firm import from_day
from ingest.generator.state import World

SNAPSHOT_HOUR = 2 * 3600  # snapshot exports run at 02:00 UTC the day after the as-of date


def psa_code(w: World, j: int) -> str | None:
    """The project code as entered in the PSA (missing for a few mapped projects)."""
    p = w.firm.projects
    return None if p.at[j, "code_missing_in_psa"] else p.at[j, "project_code"]


@cache
def month_label(day: int) -> str:
    """``Mon YYYY`` label of the month of ``day``."""
    return f"{from_day(day):%b %Y}"
