"""The refresh cadences Dagster schedules, from the cadence each source module declares.

A source module (``ingest/sources/<system>.py``) declares how often it is loaded
(``CADENCE``); here the systems sharing a cadence are grouped into one schedule, and a
cadence's windows become the freshness policy of its systems' raw tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import dagster as dg

from ingest.sources import SOURCE_CADENCES
from ingest.sources.cadence import Cadence as SourceCadence


@dataclass(frozen=True)
class Cadence:
    """A refresh rhythm and the source systems that declare it."""

    name: str
    cron: str
    systems: tuple[str, ...]
    description: str
    warn_after: timedelta
    fail_after: timedelta

    def freshness_policy(self) -> dg.FreshnessPolicy:
        """The freshness policy of these systems' raw tables."""
        return dg.FreshnessPolicy.time_window(
            fail_window=self.fail_after, warn_window=self.warn_after
        )


def cadences(declared: dict[str, SourceCadence]) -> tuple[Cadence, ...]:
    """One cadence per distinct rhythm in ``declared`` (system -> its cadence).

    Each lists the systems on it; rhythms come in the order they are first declared.
    """
    systems: dict[SourceCadence, list[str]] = {}
    for system, rhythm in declared.items():
        systems.setdefault(rhythm, []).append(system)
    names = [rhythm.name for rhythm in systems]
    if len(names) != len(set(names)):
        raise ValueError(f"two different cadences share a name: {sorted(names)}")
    return tuple(
        Cadence(
            rhythm.name,
            rhythm.cron,
            tuple(on_it),
            rhythm.description,
            rhythm.warn_after,
            rhythm.fail_after,
        )
        for rhythm, on_it in systems.items()
    )


CADENCES: tuple[Cadence, ...] = cadences(SOURCE_CADENCES)


def cadence_of(system: str) -> Cadence | None:
    """The cadence a source system is refreshed on, if any."""
    return next((c for c in CADENCES if system in c.systems), None)
