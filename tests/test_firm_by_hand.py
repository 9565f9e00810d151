"""A small firm written by hand (tests/fixtures/firm_by_hand/, in the formats of docs/sources.md)
whose data breaks rules about values: the whole pipeline still builds and publishes, and every
such record is an exception with its owner team (docs/design.md §2 and §5).

The firm: two consultants of US01, four Harvest projects and a week of time (two pages), and its
own configuration (config/: US01 with US tax rules only, a meals and airfare policy, its SLAs).
- P-1001 (Acme, US): 7.5 h, a 26-hour entry keyed on 2 June, and 7 h whose approval status
  `pending_review` is not one Harvest knows;
- P-1002 (Ipanema, BR): 6 h; US01 has no tax rule for Brazil;
- P-1003: a contract whose Legal_Entity__c `MX01` is not configured; 4 h;
- INT-BENCH: an internal project code without an entity part; 8 h of bench, and a -2 h
  correction keyed as negative time.
- a -1.5 h billable credit on P-1001 keyed on 15 May, the only entry of May: the month's
  billable hours are negative (a warning check, no longer a failed build).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.pipeline_runs import PipelineRun, query, run_firm_by_hand

#: Whole-pipeline builds on hand-written landings: the slow step of CI runs them.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def firm_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The hand-written firm through every asset (ALL_ASSETS job), as of 2026-06-30."""
    yield from run_firm_by_hand(tmp_path_factory.mktemp("firm_by_hand_home"))


def test_the_build_publishes_a_serving_snapshot(firm_run):
    pointer = json.loads((firm_run.warehouse.parent / "serving" / "CURRENT").read_text())
    assert (firm_run.warehouse.parent / "serving" / "snapshots" / pointer["file"]).exists()
    assert pointer["tables"]["marts.fct_time_entries"] == 8
    assert pointer["tables"]["quarantine.rejected_rows"] == 0


def test_every_broken_rule_is_an_exception_with_its_owner(firm_run):
    rows = query(
        firm_run.warehouse,
        "SELECT source_entity, source_id, reason, owner_team FROM marts.billing_exceptions "
        "ORDER BY ALL",
    )
    assert rows == [
        ("contracts", "800Hb00000MarsAAAA", "unknown_legal_entity", "master_data"),
        ("projects", "504", "unknown_legal_entity", "master_data"),
        ("time_entries", "2400000002", "over_daily_limit", "delivery"),
        ("time_entries", "2400000003", "missing_tax_rule", "finance"),
        ("time_entries", "2400000005", "missing_tax_rule", "finance"),
        ("time_entries", "2400000006", "unknown_approval_status", "delivery"),
        ("time_entries", "2400000007", "negative_hours", "delivery"),
        ("time_entries", "2400000008", "negative_hours", "delivery"),
    ]


def test_the_26_hour_entry_counts_in_delivered_hours(firm_run):
    hours = query(
        firm_run.warehouse,
        "SELECT hours FROM marts.fct_time_entries WHERE source_id = '2400000002'",
    )
    assert hours == [(Decimal("26.0000"),)]
    delivered = query(
        firm_run.warehouse,
        "SELECT sum(delivered_hours) FROM marts.billing_funnel WHERE project_source_id = '501'",
    )
    assert delivered == [(Decimal("39.0000"),)]  # 7.5 + 26 + 7 - 1.5


def test_excepted_records_are_never_billing_candidates(firm_run):
    candidates = query(
        firm_run.warehouse,
        "SELECT entries.source_id FROM marts.billing_batch_candidates AS candidates "
        "JOIN marts.fct_time_entries AS entries USING (correlation_id) ORDER BY 1",
    )
    # The only approved billable entry without an exception; P-1003's contract is held.
    assert candidates == [("2400000001",)]


def test_data_conditions_are_warning_checks_not_failures(firm_run):
    """The run succeeded; the firm's data conditions show as failed (warning) checks."""
    failed = sorted(name for name, passed in firm_run.check_results.items() if not passed)
    approval = "approval_status__unsubmitted__submitted__approved__rejected"
    assert failed == [
        "marts/billing_funnel:billing_funnel_stages_narrow",
        "marts/dim_contracts:relationships_dim_contracts_legal_entity__legal_entity__ref_"
        "dim_legal_entities_",
        "marts/dim_projects:relationships_dim_projects_legal_entity__legal_entity__ref_"
        "dim_legal_entities_",
        f"marts/fct_time_entries:accepted_values_fct_time_entries_{approval}",
        "marts/fct_time_entries:fct_time_entries_hours_not_negative",
        "marts/project_financials_monthly:project_financials_monthly_hours_nest",
        "marts/utilization_monthly:utilization_monthly_billable_hours_within_logged_hours",
        f"staging/stg_harvest__time_entries:accepted_values_stg_harvest__time_entries_{approval}",
        "staging/stg_salesforce__contracts:relationships_stg_salesforce__contracts_legal_entity__"
        "legal_entity__ref_stg_config__legal_entities_",
    ]
