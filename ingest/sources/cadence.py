"""Refresh cadences: how often a source system is loaded, and how stale its raw tables may get.

Each source module declares its own (``CADENCE``, one of the rhythms below, as a firm runs
its extracts); Dagster schedules one job per cadence over the systems that declare it and
gives their raw tables its freshness windows, which the dbt sources' ``freshness:`` repeat
(tests/test_cadences.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Cadence:
    """A refresh rhythm: when the systems on it are loaded, and when their data is stale."""

    name: str
    cron: str
    description: str
    warn_after: timedelta
    fail_after: timedelta


PSA_HOURLY = Cadence(
    "psa_hourly",
    "0 8-19 * * 1-5",
    "Time entries and approvals: hourly during business hours, Monday to Friday.",
    # a weekend without loads is normal: fail only after a long weekend's worth
    warn_after=timedelta(hours=4),
    fail_after=timedelta(hours=74),
)

MASTER_DATA_NIGHTLY = Cadence(
    "master_data_nightly",
    "0 2 * * *",
    "CRM accounts, contracts, rate cards and HR master data: nightly.",
    warn_after=timedelta(hours=26),
    fail_after=timedelta(hours=50),
)

EXPENSES_DAILY = Cadence(
    "expenses_daily",
    "0 6 * * *",
    "Expenses and ERP postings: daily, before the working day.",
    warn_after=timedelta(hours=26),
    fail_after=timedelta(hours=50),
)

FIRM_CONFIGURATION = Cadence(
    "firm_configuration",
    "0 1 * * *",
    "The firm's configuration: checked nightly; a new version lands only when the firm changes it.",
    # a version stays in force until the next one, so an old file is not stale data: only a
    # configuration nobody has reviewed for a year is worth a warning
    warn_after=timedelta(days=365),
    fail_after=timedelta(days=730),
)
