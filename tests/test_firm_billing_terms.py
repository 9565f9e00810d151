"""The hand-written firm (tests/fixtures/firm_by_hand/: its people, client and configuration)
with its own contracts, projects, time and one ERP invoice (tests/fixtures/firm_billing_terms/,
laid over it after the firm's own time is removed), worked out by hand from the definitions
(docs/sources.md "salesforce", docs/design.md §4). Every entry is Ada's or Ben's, a
Consultant at 200.00 USD, approved the day after its work date; as of 2026-06-30:

- P-2001, time and materials capped at 10 hours (Not_To_Exceed_Hours__c): 6 h on 1 June and
  6 h on 2 June. The running total reaches 12 h with the second entry: it is held (over_cap,
  6 h = 1200.00, queued in billing_exceptions for finance, still valid work), the first is WIP
  at rate (1200.00). A milestone line on this T&M contract is ignored.
- P-2002, fixed fee with three 10000.00 instalments due 31 May, 30 June and 31 July: due
  20000.00; invoice INV-US01-000001 (released 8 June) bills the first instalment, 10000.00,
  on a labour line carrying the 8 h of 3 June: unbilled 10000.00. Its uninvoiced 4 h of
  2 March are no WIP at rate and no unbilled_over_90_days leakage.
- P-2003, retainer: June's period (5000.00, 10 h included, overage 150.00 per hour) has 8 h
  + 4 h = 12 h approved: 2 h overage = 300.00, due 5300.00; July's period has not started.
- P-2004, milestone: "Design signed off" 8000.00 accepted 15 June is due; "Go-live" 12000.00
  is not accepted yet: unbilled 8000.00.
- P-2005, fixed fee without schedule lines in the export: billed by its hours as before,
  2 h of 2 March + 3 h of 9 June = 5 h = 1000.00 WIP at rate; the March entry (approved
  3 March, 119 days before the as-of date) leaks 400.00 as unbilled_over_90_days.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.pipeline_runs import PipelineRun, dbt_check_failures, query, run_pipeline

#: A whole-pipeline build on a hand-written landing: the slow step of CI runs it.
pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def firm_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The firm with its billing terms through every asset, as of 2026-06-30."""
    home = tmp_path_factory.mktemp("firm_billing_terms_home")
    landing = home / "landing"
    shutil.copytree(FIXTURES / "firm_by_hand", landing)
    shutil.rmtree(landing / "harvest" / "time_entries")
    shutil.copytree(FIXTURES / "firm_billing_terms", landing, dirs_exist_ok=True)
    yield from run_pipeline(landing, home / "no_truth", home, AS_OF)


def test_the_build_passes_every_check(firm_run):
    assert dbt_check_failures(firm_run) == []


def test_each_method_has_its_unbilled_amount(firm_run):
    rows = query(
        firm_run.warehouse,
        "SELECT c.project_code, u.billing_method, u.billing_basis, u.amount_due, "
        "u.invoiced_amount, u.wip_value, u.unbilled_amount, u.over_cap_hours, "
        "u.over_cap_value "
        "FROM marts.contract_unbilled_by_method AS u "
        "JOIN marts.dim_contracts AS c USING (contract_id) ORDER BY 1",
    )
    d = Decimal
    assert rows == [
        ("P-2001", "time_and_materials", "hours", None, d("0.00"), d("1200.00"), d("1200.00"),
         d("6.0000"), d("1200.00")),
        ("P-2002", "fixed_fee", "schedule", d("20000.00"), d("10000.00"), d("0.00"), d("10000.00"),
         d("0.0000"), d("0.00")),
        ("P-2003", "retainer", "schedule", d("5300.00"), d("0.00"), d("0.00"), d("5300.00"),
         d("0.0000"), d("0.00")),
        ("P-2004", "milestone", "schedule", d("8000.00"), d("0.00"), d("0.00"), d("8000.00"),
         d("0.0000"), d("0.00")),
        ("P-2005", "fixed_fee", "hours", None, d("0.00"), d("1000.00"), d("1000.00"),
         d("0.0000"), d("0.00")),
    ]  # fmt: skip
    overage = query(
        firm_run.warehouse,
        "SELECT retainer_overage_hours, retainer_overage_amount "
        "FROM marts.contract_unbilled_by_method WHERE billing_method = 'retainer'",
    )
    assert overage == [(Decimal("2.0000"), Decimal("300.00"))]


def test_schedule_billed_and_capped_work_is_no_wip_at_rate(firm_run):
    excluded = query(
        firm_run.warehouse,
        "SELECT source_id, exclusion_reason, hours, billable_amount "
        "FROM marts.wip_excluded_time_entries ORDER BY source_id",
    )
    assert excluded == [
        ("2500000002", "over_cap", Decimal("6.0000"), Decimal("1200.00")),
        ("2500000003", "billed_by_schedule", Decimal("4.0000"), Decimal("800.00")),
        ("2500000005", "billed_by_schedule", Decimal("8.0000"), Decimal("1600.00")),
        ("2500000006", "billed_by_schedule", Decimal("4.0000"), Decimal("800.00")),
        ("2500000007", "billed_by_schedule", Decimal("5.0000"), Decimal("1000.00")),
    ]
    wip = query(
        firm_run.warehouse,
        "SELECT project_code, unbilled_approved_hours, unbilled_value "
        "FROM marts.unbilled_approved_hours ORDER BY 1",
    )
    assert wip == [
        ("P-2001", Decimal("6.0000"), Decimal("1200.00")),
        ("P-2005", Decimal("5.0000"), Decimal("1000.00")),
    ]


def test_only_work_billed_by_hours_leaks_as_unbilled(firm_run):
    leakage = query(
        firm_run.warehouse,
        "SELECT source_id, leakage_amount FROM marts.revenue_leakage "
        "WHERE cause = 'unbilled_over_90_days'",
    )
    assert leakage == [("2500000008", Decimal("400.00"))]


def test_work_held_past_the_cap_is_no_billing_candidate(firm_run):
    candidates = query(
        firm_run.warehouse,
        "SELECT correlation_id FROM marts.billing_batch_candidates WHERE line_kind = 'labour'",
    )
    entries = query(
        firm_run.warehouse,
        "SELECT source_id, correlation_id FROM marts.fct_time_entries "
        "WHERE source_id IN ('2500000001', '2500000002')",
    )
    by_id = dict(entries)
    assert (by_id["2500000001"],) in candidates
    assert (by_id["2500000002"],) not in candidates


def test_work_held_past_the_cap_is_queued_as_valid_work(firm_run):
    queued = query(
        firm_run.warehouse,
        "SELECT source_entity, source_id, reason, category, severity, owner_team, "
        "contract_source_id, hours, amount, currency "
        "FROM marts.billing_exceptions WHERE reason = 'over_cap'",
    )
    assert queued == [
        ("time_entries", "2500000002", "over_cap", "contract", "high", "finance",
         "800Hb00000TmCapAAA", Decimal("6.0000"), Decimal("1200.00"), "USD"),
    ]  # fmt: skip
    # a billing hold, not a validity fault: the entry stays valid (the hours tie-out counts it
    # in the valid hours; test_the_build_passes_every_check runs that tie-out)
    validity = query(
        firm_run.warehouse,
        "SELECT is_valid, exception_reasons FROM marts.fct_time_entries "
        "WHERE source_id = '2500000002'",
    )
    assert validity == [(True, None)]


def test_candidates_bill_exactly_the_due_schedule_amounts(firm_run):
    # P-2002: instalment 1 (due 31 May) is covered by the ERP's labour line of 10000.00,
    # instalment 2 (due 30 June) is billed, instalment 3 (due 31 July) is not due. P-2003:
    # June's fee and its 2 h overage at 150.00; July has not started. P-2004: the accepted
    # milestone only.
    rows = query(
        firm_run.warehouse,
        "SELECT c.project_code, b.period, b.line_kind, b.line_category, b.line_description, "
        "b.quantity, b.unit_price, b.amount, b.tax_code "
        "FROM marts.billing_batch_candidates AS b "
        "JOIN marts.dim_contracts AS c ON b.contract_ref = c.source_id "
        "WHERE b.line_kind NOT IN ('labour', 'expense') ORDER BY 1, 3",
    )
    contract = dict(
        query(firm_run.warehouse, "SELECT project_code, contract_name FROM marts.dim_contracts")
    )
    d = Decimal
    assert rows == [
        ("P-2002", "2026-06", "fixed_fee_instalment", "fixed_fee",
         f"Fixed fee - {contract['P-2002']} - Instalment 2 of 3 (BSL-000002)",
         None, None, d("10000.00"), "US-EXEMPT"),
        ("P-2003", "2026-06", "retainer_fee", "retainer",
         f"Retainer - {contract['P-2003']} - June 2026 (BSL-000004)",
         None, None, d("5000.00"), "US-EXEMPT"),
        ("P-2003", "2026-06", "retainer_overage", "retainer",
         f"Retainer overage - {contract['P-2003']} - June 2026 (BSL-000004)",
         d("2.0000"), d("150.0000"), None, "US-EXEMPT"),
        ("P-2004", "2026-06", "milestone", "milestone",
         f"Milestone - {contract['P-2004']} - Design signed off (BSL-000006)",
         None, None, d("8000.00"), "US-EXEMPT"),
    ]  # fmt: skip
    # the candidates bill what the schedule basis has unbilled, no more
    (unbilled,) = query(
        firm_run.warehouse,
        "SELECT sum(unbilled_amount) FROM marts.contract_unbilled_by_method "
        "WHERE billing_basis = 'schedule'",
    )[0]
    billed = sum((amount if amount is not None else q * p) for *_, q, p, amount, _ in rows)
    assert billed == unbilled == d("23300.00")


def test_schedule_amounts_are_reconciliation_records(firm_run):
    # Every amount due by the as-of date is a record of its own, on the billing side from its
    # billable date: none is on an invoice line yet (the write-back has not sent), so each
    # awaits its invoice, except P-2002's first instalment, which the ERP billed as a labour
    # line (INV-US01-000001) that names no schedule line: that invoice passed it by. The
    # third instalment (31 July) and the milestone not accepted are not due: no row.
    rows = query(
        firm_run.warehouse,
        "SELECT project_code, record_kind, record_date, psa_hours, psa_amount, "
        "billing_line_count, difference_reason, reconciliation_status "
        "FROM marts.reconciliation_records WHERE source_system = 'salesforce' "
        "ORDER BY project_code, record_date, record_kind",
    )
    d = Decimal
    assert rows == [
        ("P-2002", "fixed_fee_instalment", date(2026, 5, 31), None, d("10000.00"), 0,
         "skipped_by_invoice", "discrepancy"),
        ("P-2002", "fixed_fee_instalment", date(2026, 6, 30), None, d("10000.00"), 0,
         "awaiting_invoice", "timing"),
        ("P-2003", "retainer_fee", date(2026, 6, 1), None, d("5000.00"), 0,
         "awaiting_invoice", "timing"),
        ("P-2003", "retainer_overage", date(2026, 6, 30), d("2.0000"), d("300.00"), 0,
         "awaiting_invoice", "timing"),
        ("P-2004", "milestone", date(2026, 6, 15), None, d("8000.00"), 0,
         "awaiting_invoice", "timing"),
    ]  # fmt: skip


def test_capped_and_schedule_billed_hours_are_held_records_not_awaiting_an_invoice(firm_run):
    # The time side of the reconciliation: P-2001's first entry awaits its invoice, its second
    # is past the cap (held); the hours of the schedule-basis contracts P-2002 to P-2004 are
    # never billed as time (held: their schedule amounts are the records billed), even P-2002's
    # March entry, which the June invoice's period covers; P-2002's 8 h of 3 June ride on that
    # invoice's labour line at its agreed amount (matched); P-2005, billed by its hours, awaits.
    rows = query(
        firm_run.warehouse,
        "SELECT source_id, project_code, difference_reason, reconciliation_status "
        "FROM marts.reconciliation_records WHERE record_kind = 'time_entry' ORDER BY source_id",
    )
    assert rows == [
        ("2500000001", "P-2001", "awaiting_invoice", "timing"),
        ("2500000002", "P-2001", "over_cap", "held"),
        ("2500000003", "P-2002", "billed_by_schedule", "held"),
        ("2500000004", "P-2002", None, "matched"),
        ("2500000005", "P-2003", "billed_by_schedule", "held"),
        ("2500000006", "P-2003", "billed_by_schedule", "held"),
        ("2500000007", "P-2004", "billed_by_schedule", "held"),
        ("2500000008", "P-2005", "awaiting_invoice", "timing"),
        ("2500000009", "P-2005", "awaiting_invoice", "timing"),
    ]


def test_hours_of_a_schedule_contract_are_never_billed_as_time(firm_run):
    billed_hours = query(
        firm_run.warehouse,
        "SELECT c.project_code FROM marts.billing_batch_candidates AS b "
        "JOIN marts.dim_contracts AS c ON b.contract_ref = c.source_id "
        "WHERE b.line_kind = 'labour'",
    )
    assert billed_hours == [("P-2001",)]
