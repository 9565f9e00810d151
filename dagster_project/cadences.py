"""How often each source system is refreshed, and how stale it may get (issue Operations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import dagster as dg


@dataclass(frozen=True)
class Cadence:
    """A refresh rhythm for a group of source systems, as a firm runs it."""

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


CADENCES: tuple[Cadence, ...] = (
    Cadence(
        "psa_hourly",
        "0 8-19 * * 1-5",
        ("harvest", "toggl", "kantata"),
        "Time entries and approvals: hourly during business hours, Monday to Friday.",
        # a weekend without loads is normal: fail only after a long weekend's worth
        warn_after=timedelta(hours=4),
        fail_after=timedelta(hours=74),
    ),
    Cadence(
        "master_data_nightly",
        "0 2 * * *",
        ("salesforce", "hris", "mdm"),
        "CRM accounts, contracts, rate cards and HR master data: nightly.",
        warn_after=timedelta(hours=26),
        fail_after=timedelta(hours=50),
    ),
    Cadence(
        "expenses_daily",
        "0 6 * * *",
        ("concur", "erp"),
        "Expenses and ERP postings: daily, before the working day.",
        warn_after=timedelta(hours=26),
        fail_after=timedelta(hours=50),
    ),
)


def cadence_of(system: str) -> Cadence | None:
    """The cadence a source system is refreshed on, if any."""
    return next((c for c in CADENCES if system in c.systems), None)
