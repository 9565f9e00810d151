"""The hand-written firm (tests/fixtures/firm_by_hand/) with its business calendar and its own FX
rates (tests/fixtures/firm_calendar_fx/, laid over it), worked out by hand from the definitions
(docs/sources.md "config", docs/design.md §3 and §4):

- config/business_calendars: US01 does not work on Wednesday 3 June 2026 (a company day) nor
  on Sunday 7 June; a newer config/sla_thresholds asks for time approved the business day it is
  submitted (sla_time_approval_business_days = 0).
- salesforce/rate_cards (replacing the firm's): P-1002's Consultant rate is 180.00 BRL, P-1003's
  210.00 MXN. The firm has no ERP FX export; config/fx_rates quotes MXN at 0.055 USD from
  1 June and BRL only from 10 June.

Time approval lags (business days = Monday to Friday in (submitted, approved], less the
entity's non-working weekdays; a breach is a lag over 0):
  2400000001 US01  Tue 2 Jun -> Wed 3 Jun   {3 Jun} - holiday 3 Jun = 0  no breach (1 without it)
  2400000002 US01  Wed 3 Jun -> Thu 4 Jun   {4 Jun}                 = 1  breach
  2400000003 US01  Thu 4 Jun -> Fri 5 Jun   {5 Jun}                 = 1  breach
  2400000004 US01  Thu 4 Jun -> Fri 5 Jun   {5 Jun}                 = 1  breach
  2400000005 MX01  Fri 5 Jun -> Sat 6 Jun   {}                      = 0  no breach
  2400000007 US01  Sat 6 Jun -> Sun 7 Jun   {} (a Sunday holiday is no weekday) = 0
  2400000008 US01  Tue 2 Jun -> Wed 3 Jun   {3 Jun} - holiday 3 Jun = 0  no breach (the May credit)
(2400000006's approval status is unknown: it waits for no approver and has no lag.)

Values: 2400000003 is 6 h x 180.00 BRL = 1080.00 BRL on 3 June, when BRL has no rate: a
missing_fx_rate exception (finance), its reporting value empty, its hours still delivered.
2400000005 is 4 h x 210.00 MXN = 840.00 MXN x 0.055 = 46.20 USD.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.pipeline_runs import PipelineRun, query, run_firm_by_hand

#: A whole-pipeline build on a hand-written landing: the slow step of CI runs it.
pytestmark = pytest.mark.slow

CALENDAR_AND_FX = Path(__file__).parent / "fixtures" / "firm_calendar_fx"


@pytest.fixture(scope="module")
def firm_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The hand-written firm with its calendar and FX rates through every asset."""
    yield from run_firm_by_hand(tmp_path_factory.mktemp("firm_calendar_fx_home"), CALENDAR_AND_FX)


def test_a_holiday_inside_a_lag_moves_its_business_days_and_its_breach(firm_run):
    lags = query(
        firm_run.warehouse,
        "SELECT entries.source_id, lags.legal_entity, lags.lag_business_days, "
        "lags.sla_business_days, lags.is_sla_breach "
        "FROM marts.record_lags AS lags JOIN marts.fct_time_entries AS entries "
        "ON lags.record_id = entries.time_entry_id "
        "WHERE lags.lag_kind = 'time_approval' ORDER BY entries.source_id",
    )
    assert lags == [
        ("2400000001", "US01", 0, 0, False),
        ("2400000002", "US01", 1, 0, True),
        ("2400000003", "US01", 1, 0, True),
        ("2400000004", "US01", 1, 0, True),
        ("2400000005", "MX01", 0, 0, False),
        ("2400000007", "US01", 0, 0, False),
        ("2400000008", "US01", 0, 0, False),
    ]


def test_a_currency_without_a_rate_is_a_missing_fx_rate_exception(firm_run):
    exceptions = query(
        firm_run.warehouse,
        "SELECT source_entity, source_id, owner_team, detail FROM marts.billing_exceptions "
        "WHERE reason = 'missing_fx_rate'",
    )
    assert exceptions == [
        ("time_entries", "2400000003", "finance", "no FX rate from BRL to USD on 2026-06-03")
    ]
    values = query(
        firm_run.warehouse,
        "SELECT source_id, hours, billable_amount, billable_amount_reporting "
        "FROM marts.fct_time_entries WHERE source_id IN ('2400000003', '2400000005') "
        "ORDER BY source_id",
    )
    assert values == [
        # still delivered, valued in its currency, not converted
        ("2400000003", Decimal("6.0000"), Decimal("1080.00"), None),
        # the firm's MXN rate (its ERP publishes none)
        ("2400000005", Decimal("4.0000"), Decimal("840.00"), Decimal("46.20")),
    ]


def test_the_build_publishes_with_the_missing_rate(firm_run):
    pointer = json.loads((firm_run.warehouse.parent / "serving" / "CURRENT").read_text())
    assert pointer["tables"]["marts.fct_time_entries"] == 8
    assert pointer["tables"]["quarantine.rejected_rows"] == 0
