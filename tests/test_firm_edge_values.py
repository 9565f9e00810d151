"""Values a firm's data can hold that the code's own invariants must survive (docs/design.md
§5: only the code's invariants block a build), on the hand-written firm
(tests/fixtures/firm_by_hand/) with one more Harvest export and a legacy ERP export laid over it
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

and three released ERP invoices to Acme (erp/, the legacy export's format), each with one labour
line that bills no time entry with hours or value, so project_financials_monthly can split it
over no entry: 7000101, 300.00 USD, a workshop typed in the ERP (no source ids); 7000102,
-100.00 USD, a goodwill credit keyed as labour; 7000103, 200.00 USD, a flat fee naming the 0 h
entry 2400000020 (it carries neither hours nor value). Each invoice is an
`unattributed_labour_line` exception (finance); no project's revenue holds them, the
project_financials tie-out passes, and the marts are published. A fourth, 7000104 (500.00 USD,
released 29 June), has no line in the export yet: a `subtotal_differs_from_lines` exception,
and the invoice amounts tie-out passes.

and a Concur report extracted twice (concur/, SAE files written from the vendor's field list, as
tests/fixtures/concur/): batch 42 on 5 June, then batch 43 on 12 June, where the hotel line
(report entry 1001) was lowered from 120.50 to 100.50 USD. The latest extract is current: the
line counts at 100.50, and the expense amounts tie-out (which picks versions as fct_expenses
does) passes rather than comparing the older, higher amount.
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

EDGE_VALUES = Path(__file__).parent / "fixtures" / "firm_edge_values"


@pytest.fixture(scope="module")
def firm_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The hand-written firm with the edge entries and invoices through every asset."""
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


def test_labour_lines_billing_no_time_entry_are_exceptions_with_their_reason(firm_run):
    rows = query(
        firm_run.warehouse,
        "SELECT source_id, owner_team, amount, currency, detail FROM marts.billing_exceptions "
        "WHERE reason = 'unattributed_labour_line' ORDER BY source_id",
    )
    assert rows == [
        (
            "7000101",
            "finance",
            Decimal("300.00"),
            "USD",
            "1 labour line(s) of 300.00 USD bill no time entry: in no project's revenue",
        ),
        (
            "7000102",
            "finance",
            Decimal("-100.00"),
            "USD",
            "1 labour line(s) of -100.00 USD bill no time entry: in no project's revenue",
        ),
        (
            "7000103",
            "finance",
            Decimal("200.00"),
            "USD",
            "1 labour line(s) of 200.00 USD bill no time entry: in no project's revenue",
        ),
    ]


def test_the_tie_out_holds_and_the_marts_are_published_despite_unattributed_lines(firm_run):
    tie_out = "marts/project_financials_monthly:assert_executive_project_financials_tie_out"
    assert firm_run.check_results[tie_out] is True
    pointer = json.loads((firm_run.warehouse.parent / "serving" / "CURRENT").read_text())
    assert pointer["tables"]["marts.fct_invoice_lines"] == 3


def test_unattributed_lines_change_no_project_figure(firm_run):
    """The lines are in no project's revenue; P-1001's hours and billable value are the
    hand firm's own (7.5 h + 26 h + 7 h - 1.5 h + 0 h + 2 h; billable: 2400000001,
    7.5 h at 200.00, and 2400000021, 2 h at 200.00)."""
    rows = query(
        firm_run.warehouse,
        "SELECT sum(hours), sum(billable_hours), sum(billable_value), "
        "coalesce(sum(invoiced_value), 0), sum(invoiced_hours) "
        "FROM marts.project_financials_monthly WHERE project_source_id = '501'",
    )
    assert rows == [
        (
            Decimal("41.0000"),
            Decimal("9.5000"),
            Decimal("1900.00"),
            Decimal("0.00"),
            Decimal("0.0000"),
        )
    ]


def test_an_invoice_whose_lines_have_not_landed_is_an_exception(firm_run):
    rows = query(
        firm_run.warehouse,
        "SELECT source_id, owner_team, amount, detail FROM marts.billing_exceptions "
        "WHERE reason = 'subtotal_differs_from_lines'",
    )
    assert rows == [("7000104", "finance", Decimal("500.00"), "subtotal 500.00 USD, lines 0.00")]
    assert firm_run.check_results["marts/fct_invoice_lines:assert_invoice_amounts_tie_out"] is True


def test_a_re_extracted_expense_line_counts_at_its_latest_amount(firm_run):
    rows = query(
        firm_run.warehouse,
        "SELECT batch_id, posted_amount FROM marts.fct_expenses WHERE expense_type_name = 'Hotel'",
    )
    assert rows == [("43", Decimal("100.50"))]
    assert firm_run.check_results["marts/fct_expenses:assert_expense_amounts_tie_out"] is True
