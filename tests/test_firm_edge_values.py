"""Values a firm's data can hold that the code's own invariants must survive (docs/design.md
§5: only the code's invariants block a build), on the hand-written firm
(tests/fixtures/firm_by_hand/) with one more Harvest export laid over it
(tests/fixtures/firm_edge_values/), worked out by hand:

- 2400000020: P-1001, Mon 8 June, 0 h, billable and approved: a call logged without time. It is
  delivered (0 h) but there is nothing to invoice, so it is no billing candidate (the
  candidates' "priced by kind" invariant holds: every labour line has hours and a price).
- 2400000021: P-1001, Mon 8 June, 2 h, submitted Mon 8 June 10:00 and approved Fri 5 June
  12:00 (stamped backwards in the PSA). Its approval lag is -2 d 22 h: business days are
  Monday to Friday in (finish, start] counted negative = -|{Mon 8 Jun}| = -1, and
  |-1| <= ceil(|-2.92|) = 3, so the lag invariant holds; the backwards stamp is a warning
  (lags not negative), never a failed build. The entry is approved, billable and excepted
  by no rule: a billing candidate.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.pipeline_runs import PipelineRun, query, run_firm_by_hand

#: A whole-pipeline build on a hand-written landing: the slow step of CI runs it.
pytestmark = pytest.mark.slow

EDGE_VALUES = Path(__file__).parent / "fixtures" / "firm_edge_values"


@pytest.fixture(scope="module")
def firm_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The hand-written firm with the two edge entries through every asset."""
    yield from run_firm_by_hand(tmp_path_factory.mktemp("firm_edge_values_home"), EDGE_VALUES)


def test_the_invariants_hold_on_the_edge_values(firm_run):
    results = firm_run.check_results
    assert results["marts/record_lags:record_lags_business_days_within_calendar_days"] is True
    assert results["marts/billing_batch_candidates:billing_batch_candidates_priced_by_kind"] is True


def test_a_zero_hour_entry_is_delivered_but_never_a_billing_candidate(firm_run):
    assert query(
        firm_run.warehouse,
        "SELECT hours FROM marts.fct_time_entries WHERE source_id = '2400000020'",
    ) == [(Decimal("0.0000"),)]
    candidates = query(
        firm_run.warehouse,
        "SELECT entries.source_id FROM marts.billing_batch_candidates AS candidates "
        "JOIN marts.fct_time_entries AS entries USING (correlation_id) ORDER BY 1",
    )
    assert candidates == [("2400000001",), ("2400000021",)]


def test_a_lag_stamped_backwards_counts_negative_business_days(firm_run):
    assert query(
        firm_run.warehouse,
        "SELECT lags.lag_business_days FROM marts.record_lags AS lags "
        "JOIN marts.fct_time_entries AS entries ON lags.record_id = entries.time_entry_id "
        "WHERE lags.lag_kind = 'time_approval' AND entries.source_id = '2400000021'",
    ) == [(-1,)]
