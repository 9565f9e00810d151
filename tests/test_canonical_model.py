"""The canonical model (issue 5) against the generator's ground truth.

The whole graph (ingest, dbt build with its tests as asset checks, publish) runs once per
module on a generated firm; the marts are then compared with the truth files written from
the generator's own state (docs/generator.md "Ground truth"):

* ``marts.billing_exceptions`` against ``defects_records.csv``: precision and recall per
  reason, both exactly 1.0 (every planted record-level defect found with its reason, no
  clean record flagged);
* ``marts.unbilled_approved_hours`` against ``unbilled_wip.csv``: hours, value and aging
  per project;
* ``marts.fct_time_entries`` against ``funnel_hours.csv``: delivered, approved, billable,
  invoiced and paid hours per project and work month.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_AS_OF
from tests.pipeline_runs import PipelineRun, dbt_check_failures, query, read_truth

Record = tuple[str, str, str, str]  # system, entity, source id, reason
AGING_BUCKETS = ("0_30", "31_60", "61_90", "91_120", "over_120")


# --- helpers --------------------------------------------------------------------------


def precision_recall(truth: set[Record], found: set[Record]) -> dict[str, tuple[float, float]]:
    """Per reason: (precision, recall) = (found and planted / found, found and planted /
    planted); a side with nothing in it scores 1.0 (nothing wrongly flagged or missed)."""
    scores = {}
    for reason in sorted({r[3] for r in truth | found}):
        t = {r for r in truth if r[3] == reason}
        f = {r for r in found if r[3] == reason}
        hits = len(t & f)
        precision = hits / len(f) if f else 1.0
        recall = hits / len(t) if t else 1.0
        scores[reason] = (precision, recall)
    return scores


def report(scores: dict[str, tuple[float, float]], truth: set[Record], found: set[Record]) -> str:
    lines = [f"{'reason':<24}{'truth':>7}{'found':>7}{'precision':>11}{'recall':>8}"]
    for reason, (p, r) in scores.items():
        t = sum(1 for x in truth if x[3] == reason)
        f = sum(1 for x in found if x[3] == reason)
        lines.append(f"{reason:<24}{t:>7}{f:>7}{p:>11.3f}{r:>8.3f}")
    return "\n".join(lines)


def exceptions_found(warehouse: Path) -> set[Record]:
    rows = query(
        warehouse,
        "SELECT source_system, source_entity, source_id, reason FROM marts.billing_exceptions",
    )
    return {tuple(r) for r in rows}


def exceptions_planted(truth_dir: Path) -> set[Record]:
    return {
        (r["system"], r["entity"], r["source_id"], r["reason"])
        for r in read_truth(truth_dir, "defects_records.csv")
    }


def assert_exceptions_match(run: PipelineRun) -> None:
    truth, found = exceptions_planted(run.truth_dir), exceptions_found(run.warehouse)
    scores = precision_recall(truth, found)
    print("\n" + report(scores, truth, found))
    assert truth, "the generator planted no record defects"
    missed, extra = sorted(truth - found), sorted(found - truth)
    assert not missed, f"planted defects not found: {missed[:10]}"
    assert not extra, f"clean records flagged: {extra[:10]}"
    assert all(s == (1.0, 1.0) for s in scores.values()), scores


def assert_unbilled_wip_matches(run: PipelineRun) -> None:
    truth = {r["project_code"]: r for r in read_truth(run.truth_dir, "unbilled_wip.csv")}
    buckets = ", ".join(f"hours_aged_{b}, value_aged_{b}" for b in AGING_BUCKETS)
    rows = query(
        run.warehouse,
        "SELECT project_code, contract_source_id, currency, unbilled_approved_hours, "
        f"unbilled_value, {buckets} FROM marts.unbilled_approved_hours",
    )
    got = {r[0]: r for r in rows}
    assert truth, "the truth has no unbilled work"
    assert set(got) == set(truth)
    for code, row in got.items():
        expected = truth[code]
        _, contract, currency, hours, value, *aged = row
        assert (contract, currency) == (expected["contract_id"], expected["currency"]), code
        assert hours == Decimal(expected["unbilled_hours"]), code
        assert value == Decimal(expected["unbilled_value"]), code
        for i, bucket in enumerate(AGING_BUCKETS):
            assert aged[2 * i] == Decimal(expected[f"hours_{bucket}"]), (code, bucket)
            assert aged[2 * i + 1] == Decimal(expected[f"value_{bucket}"]), (code, bucket)
    # the buckets in the reporting currency (USD): a USD project's are the truth's values,
    # and every project's add up to its unbilled value in USD
    reporting = ", ".join(f"value_aged_{b}_reporting" for b in AGING_BUCKETS)
    rows = query(
        run.warehouse,
        f"SELECT project_code, currency, reporting_currency, unbilled_value_reporting, {reporting} "
        "FROM marts.unbilled_approved_hours",
    )
    usd_projects = 0
    for code, currency, reporting_currency, value_reporting, *aged in rows:
        assert reporting_currency == "USD"
        assert sum(aged) == value_reporting, code
        if currency == "USD":
            usd_projects += 1
            expected = truth[code]
            assert aged == [Decimal(expected[f"value_{b}"]) for b in AGING_BUCKETS], code
    assert 0 < usd_projects < len(rows)  # both kinds are checked


def assert_funnel_matches(run: PipelineRun) -> None:
    columns = ("delivered", "approved", "billable", "invoiced", "paid")
    truth = {
        (r["project_code"], r["work_month"]): tuple(Decimal(r[f"{c}_hours"]) for c in columns)
        for r in read_truth(run.truth_dir, "funnel_hours.csv")
    }
    rows = query(
        run.warehouse,
        """
        SELECT
            project_code,
            strftime(work_date, '%Y-%m') AS work_month,
            sum(hours),
            sum(hours) FILTER (WHERE is_approved),
            sum(hours) FILTER (WHERE is_approved AND is_billable AND is_valid),
            sum(hours) FILTER (WHERE is_invoiced),
            sum(hours) FILTER (WHERE is_paid)
        FROM marts.fct_time_entries
        GROUP BY ALL
        """,
    )
    got = {(r[0], r[1]): tuple(v or Decimal(0) for v in r[2:]) for r in rows}
    assert set(got) == set(truth)
    mismatched = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not mismatched, list(mismatched.items())[:5]


# --- the default sample -----------------------------------------------------------------


def test_the_graph_builds_and_every_dbt_test_passes(sample_run: PipelineRun) -> None:
    assert sample_run.check_results, "dbt tests should surface as asset checks"
    assert not dbt_check_failures(sample_run)
    # the tie-outs and the unit-tested rate and FX logic are among them
    names = " ".join(sample_run.check_results)
    for check in ("assert_time_entry_hours_tie_out", "assert_expense_amounts_tie_out"):
        assert check in names


def test_billing_exceptions_match_the_planted_defects_per_reason(sample_run: PipelineRun) -> None:
    assert_exceptions_match(sample_run)


def test_exceptions_carry_category_severity_owner_and_first_seen(
    sample_run: PipelineRun,
) -> None:
    rows = query(
        sample_run.warehouse,
        "SELECT count(*), count(category), count(severity), count(owner_team), "
        "count(first_seen_date), count(DISTINCT owner_team), min(as_of_date), "
        "count(*) FILTER (WHERE source_entity = 'time_entries' AND hours IS NULL) "
        "FROM marts.billing_exceptions",
    )
    total, category, severity, owner, first_seen, owners, as_of, without_hours = rows[0]
    assert total == category == severity == owner == first_seen > 0
    assert owners == 3  # delivery, finance, master data
    assert as_of == SAMPLE_AS_OF
    assert without_hours == 0


def test_excepted_records_are_not_valid_and_valid_records_have_no_exception(
    sample_run: PipelineRun,
) -> None:
    (mismatch,) = query(
        sample_run.warehouse,
        """
        SELECT count(*)
        FROM marts.fct_time_entries AS t
        LEFT JOIN (
            SELECT DISTINCT source_system, source_id FROM marts.billing_exceptions
            WHERE source_entity = 'time_entries'
        ) AS x USING (source_system, source_id)
        WHERE t.is_valid = (x.source_id IS NOT NULL)
        """,
    )[0]
    assert mismatch == 0


def test_unbilled_approved_hours_match_the_truth_per_project(sample_run: PipelineRun) -> None:
    assert_unbilled_wip_matches(sample_run)


def test_funnel_hours_match_the_truth_per_project_and_month(sample_run: PipelineRun) -> None:
    assert_funnel_matches(sample_run)


def test_every_fact_row_carries_a_correlation_id_that_traces_to_its_events(
    sample_run: PipelineRun,
) -> None:
    facts = (
        "fct_time_entries",
        "fct_expenses",
        "fct_invoices",
        "fct_invoice_lines",
        "fct_invoice_line_records",
        "fct_lifecycle_events",
    )
    for fact in facts:
        ((rows, with_id),) = query(
            sample_run.warehouse, f"SELECT count(*), count(correlation_id) FROM marts.{fact}"
        )
        assert rows == with_id > 0, fact
    # an invoiced entry: submitted, approved, validated, invoiced, posted - in that order
    events = query(
        sample_run.warehouse,
        """
        SELECT e.event_type
        FROM marts.fct_lifecycle_events AS e
        WHERE e.correlation_id = (
            SELECT min(correlation_id) FROM marts.fct_time_entries
            WHERE is_invoiced AND is_valid AND source_system = 'harvest'
        )
        ORDER BY e.event_at, e.event_type
        """,
    )
    kinds = [e[0] for e in events]
    assert {"submitted", "approved", "validated", "invoiced", "posted"} <= set(kinds)
    assert kinds.index("submitted") < kinds.index("approved") < kinds.index("posted")


def test_identity_resolution_matches_every_source(sample_run: PipelineRun) -> None:
    """Explicit keys first, then the MDM mappings: the generator maps every alias, so
    nothing is left unmatched, and each kind of mapping is used at least once."""
    methods = dict(
        query(
            sample_run.warehouse,
            "SELECT 'people:' || coalesce(match_method, 'none'), count(*) "
            "FROM intermediate.int_people_matched GROUP BY 1 "
            "UNION ALL SELECT 'projects:' || coalesce(contract_match_method, 'none'), count(*) "
            "FROM intermediate.int_projects_matched WHERE is_billable GROUP BY 1 "
            "UNION ALL SELECT 'clients:' || source_system || ':' || "
            "coalesce(match_method, 'none'), count(*) "
            "FROM intermediate.int_clients_matched GROUP BY 1",
        )
    )
    for kind in ("people:identity_mapping", "projects:identity_mapping"):
        assert methods.get(kind, 0) > 0, methods
    assert methods.get("clients:erp:identity_mapping", 0) > 0, methods
    assert methods.get("clients:concur:identity_mapping", 0) > 0, methods
    assert "people:none" not in methods and "projects:none" not in methods, methods
    assert "clients:erp:none" not in methods, methods
    # the Concur entries whose client resolves to no account are the planted ones
    planted = {r[2] for r in exceptions_planted(sample_run.truth_dir) if r[3] == "unmatched_client"}
    unmatched = query(
        sample_run.warehouse,
        "SELECT expense_source_id FROM intermediate.int_expenses_enriched "
        "WHERE client_ref IS NOT NULL AND client_account_source_id IS NULL",
    )
    assert {r[0] for r in unmatched} == planted


def test_money_is_decimal_in_contract_and_reporting_currency(sample_run: PipelineRun) -> None:
    types = dict(
        query(
            sample_run.warehouse,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND column_name IN ('billable_amount', "
            "'billable_amount_reporting', 'rebill_amount', 'posted_amount_reporting', "
            "'total_reporting', 'amount_reporting', 'unbilled_value')",
        )
    )
    assert types and all(t.startswith("DECIMAL") for t in types.values()), types
    ((unconverted,),) = query(
        sample_run.warehouse,
        "SELECT count(*) FROM marts.fct_time_entries "
        "WHERE billable_amount IS NOT NULL AND billable_amount_reporting IS NULL",
    )
    assert unconverted == 0


# --- a larger firm ----------------------------------------------------------------------


@pytest.mark.slow
def test_exceptions_and_wip_match_the_truth_at_scale_0_2(scale_02_run: PipelineRun) -> None:
    assert not dbt_check_failures(scale_02_run)
    assert_exceptions_match(scale_02_run)
    assert_unbilled_wip_matches(scale_02_run)
    assert_funnel_matches(scale_02_run)


def test_precision_recall_scores_each_reason_on_both_sides() -> None:
    truth = {("h", "t", "1", "a"), ("h", "t", "2", "a"), ("h", "t", "3", "b")}
    found = {("h", "t", "1", "a"), ("h", "t", "4", "a"), ("h", "t", "5", "c")}
    scores = precision_recall(truth, found)
    assert scores == {"a": (0.5, 0.5), "b": (1.0, 0.0), "c": (0.0, 1.0)}
