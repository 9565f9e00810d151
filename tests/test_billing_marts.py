"""The billing marts (issue 6) against the ground truth, and the write-back loop (issue 7).

Figures of ``marts.billing_funnel``, ``marts.revenue_leakage`` and
``marts.billing_batch_candidates`` on the default sample are compared with the generator's
truth files (docs/generator.md, "Ground truth"). Then a real billing run bills one period's
candidates into the ERP (file drop in the default suite, embedded Tryton in the slow suite),
finance posts the invoices, the ERP is read back and the marts rebuilt: the records show as
batched, then invoiced, on exactly one ERP line each, and the candidates are gone.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from dagster_project.defs.billing import BILLING_JOB
from erp.adapters import make_adapter
from erp.adapters.filedrop import FileDropAdapter
from erp.settings import ErpSettings
from tests.pipeline_runs import PipelineRun, dbt_build, query, read_truth

STAGES = ("delivered", "approved", "billable", "invoiced", "paid")


def test_funnel_matches_the_truth_per_project_and_month(sample_run: PipelineRun) -> None:
    truth = {
        (r["project_code"], r["work_month"]): tuple(Decimal(r[f"{s}_hours"]) for s in STAGES)
        for r in read_truth(sample_run.truth_dir, "funnel_hours.csv")
    }
    columns = ", ".join(f"sum({s}_hours)" for s in STAGES)
    rows = query(
        sample_run.warehouse,
        f"SELECT project_code, strftime(work_month, '%Y-%m'), {columns} "
        "FROM marts.billing_funnel GROUP BY ALL",
    )
    got = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    assert truth and set(got) == set(truth)
    differing = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not differing, list(differing.items())[:5]


def test_funnel_value_is_hours_at_the_resolved_rate(sample_run: PipelineRun) -> None:
    """The billable value per project equals the truth's unbilled value plus the value of
    the billable hours already invoiced, at resolved rates (fct_time_entries)."""
    ((funnel, facts, batched, stages),) = query(
        sample_run.warehouse,
        """
        SELECT
            (SELECT sum(billable_value) FROM marts.billing_funnel),
            (SELECT sum(billable_amount) FROM marts.fct_time_entries
             WHERE is_approved AND is_billable AND is_valid),
            (SELECT sum(batched_hours) FROM marts.billing_funnel),
            (SELECT count(*) FROM marts.billing_funnel
             WHERE billable_hours > approved_hours OR batched_hours > billable_hours)
        """,
    )
    assert funnel == facts and funnel > 0
    assert batched > 0  # legacy invoices hold billable entries
    assert stages == 0


def test_unbilled_leakage_is_the_wip_aged_over_90_days(sample_run: PipelineRun) -> None:
    """Leakage (b) for time: the truth's WIP aged 91-120 and >120 days, less what sits on
    ERP invoices not yet released (batched, so no longer leaking)."""
    truth: dict[str, Decimal] = defaultdict(Decimal)
    for r in read_truth(sample_run.truth_dir, "unbilled_wip.csv"):
        truth[r["project_code"]] += Decimal(r["hours_91_120"]) + Decimal(r["hours_over_120"])
    leaking = dict(
        query(
            sample_run.warehouse,
            "SELECT p.project_code, sum(l.hours) FROM marts.revenue_leakage l "
            "JOIN marts.fct_time_entries p USING (correlation_id) "
            "WHERE l.cause = 'unbilled_over_90_days' GROUP BY 1",
        )
    )
    on_drafts = dict(
        query(
            sample_run.warehouse,
            "SELECT project_code, sum(hours) FROM marts.fct_time_entries "
            "WHERE is_approved AND is_billable AND is_valid AND is_batched AND NOT is_invoiced "
            "AND date_diff('day', CAST(approved_at AS DATE), ?) > 90 GROUP BY 1",
            [sample_run.as_of],
        )
    )
    assert sum(truth.values()) > 0 and leaking
    for code in set(truth) | set(leaking):
        expected = truth.get(code, Decimal(0)) - on_drafts.get(code, Decimal(0))
        assert leaking.get(code, Decimal(0)) == expected, code


def test_leakage_causes_are_priced_from_the_records(sample_run: PipelineRun) -> None:
    rows = dict(
        (r[0], r[1:])
        for r in query(
            sample_run.warehouse,
            "SELECT cause, count(*), sum(leakage_amount), count(*) FILTER (WHERE "
            "leakage_amount <= 0) FROM marts.revenue_leakage GROUP BY 1",
        )
    )
    assert set(rows) == {"billed_below_rate", "unbilled_over_90_days", "expired_contract_work"}
    assert all(non_positive == 0 for _, _, non_positive in rows.values())
    # expired-contract work is exactly the planted expired_contract entries
    planted = {
        r["source_id"]
        for r in read_truth(sample_run.truth_dir, "defects_records.csv")
        if r["reason"] == "expired_contract"
    }
    found = query(
        sample_run.warehouse,
        "SELECT source_id FROM marts.revenue_leakage WHERE cause = 'expired_contract_work'",
    )
    assert {r[0] for r in found} == planted
    # below-rate leakage: (resolved rate - line rate) x hours, from the invoice line
    ((mismatches,),) = query(
        sample_run.warehouse,
        """
        SELECT count(*) FROM marts.revenue_leakage l
        JOIN marts.fct_time_entries t USING (correlation_id)
        JOIN marts.fct_invoice_lines i ON i.invoice_line_id = l.invoice_line_id
        WHERE l.cause = 'billed_below_rate'
          AND l.leakage_amount != round((t.resolved_bill_rate - i.amount / i.quantity)
                                        * t.hours, 2)
        """,
    )
    assert mismatches == 0


def test_candidates_are_the_unbatched_wip_of_time_and_materials_contracts(
    sample_run: PipelineRun,
) -> None:
    """Per T&M project without a contract exception: the truth's unbilled hours = candidate
    hours + billable hours on ERP invoices not released yet (already batched)."""
    truth = {
        r["project_code"]: Decimal(r["unbilled_hours"])
        for r in read_truth(sample_run.truth_dir, "unbilled_wip.csv")
    }
    rows = query(
        sample_run.warehouse,
        """
        SELECT t.project_code,
               sum(t.hours) FILTER (WHERE c.correlation_id IS NOT NULL),
               sum(t.hours) FILTER (WHERE t.is_batched AND NOT t.is_invoiced)
        FROM marts.fct_time_entries t
        JOIN marts.dim_contracts k USING (contract_id)
        LEFT JOIN marts.billing_batch_candidates c USING (correlation_id)
        WHERE k.billing_method = 'time_and_materials' AND NOT k.has_exception
          AND t.is_approved AND t.is_billable AND t.is_valid
        GROUP BY 1
        """,
    )
    assert rows
    compared = 0
    for code, candidate_hours, drafted in rows:
        expected = truth.get(code, Decimal(0))
        assert (candidate_hours or 0) + (drafted or 0) == expected, code
        compared += expected > 0
    assert compared > 0
    ((labour, expenses, periods),) = query(
        sample_run.warehouse,
        "SELECT count(*) FILTER (WHERE line_kind = 'labour'), "
        "count(*) FILTER (WHERE line_kind = 'expense'), max(period) "
        "FROM marts.billing_batch_candidates",
    )
    assert labour > 0 and expenses > 0
    assert periods <= sample_run.as_of.strftime("%Y-%m")


@pytest.mark.slow
def test_billing_marts_match_the_truth_at_scale_0_2(scale_02_run: PipelineRun) -> None:
    """The same comparisons with the ground truth on a firm ten times the sample."""
    test_funnel_matches_the_truth_per_project_and_month(scale_02_run)
    test_unbilled_leakage_is_the_wip_aged_over_90_days(scale_02_run)
    test_leakage_causes_are_priced_from_the_records(scale_02_run)
    test_candidates_are_the_unbatched_wip_of_time_and_materials_contracts(scale_02_run)


# --- the write-back loop --------------------------------------------------------------------

DBT_AFTER_BILLING = "source:erp_api+ source:ops.erp_outbox_correlations+ source:ops.erp_outbox+"


def _run_period(partition: str):
    from dagster_project.definitions import defs

    return defs().resolve_job_def(BILLING_JOB).execute_in_process(partition_key=partition)


def _period_figures(warehouse: Path, period: str) -> dict[str, Decimal | int]:
    ((candidates, candidate_hours, batched, invoiced, write_back_lines),) = query(
        warehouse,
        """
        SELECT
            (SELECT count(*) FROM marts.billing_batch_candidates WHERE period = $p),
            (SELECT coalesce(sum(quantity), 0) FROM marts.billing_batch_candidates
             WHERE period = $p),
            (SELECT sum(batched_hours) FROM marts.billing_funnel
             WHERE strftime(work_month, '%Y-%m') = $p),
            (SELECT sum(invoiced_hours) FROM marts.billing_funnel
             WHERE strftime(work_month, '%Y-%m') = $p),
            (SELECT count(*) FROM marts.fct_invoice_lines WHERE invoice_origin = 'write_back')
        """,
        {"p": period},
    )
    return {
        "candidates": candidates,
        "candidate_hours": candidate_hours,
        "batched_hours": batched,
        "invoiced_hours": invoiced,
        "write_back_lines": write_back_lines,
    }


# slow: three dbt builds per adapter (the default suite keeps the ERP package's own tests)
@pytest.mark.slow
@pytest.mark.parametrize("adapter_name", ["filedrop", "tryton"])
def test_a_billing_run_closes_the_loop_through_the_erp(
    adapter_name: str, sample_run: PipelineRun, tmp_path, monkeypatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    shutil.copy(sample_run.warehouse, warehouse)  # the shared warehouse stays as built
    monkeypatch.setenv("D2B_HOME", str(home))
    monkeypatch.setenv("D2B_ERP_ADAPTER", adapter_name)
    for name in ("D2B_WAREHOUSE", "DAGSTER_HOME", "D2B_LANDING", "D2B_ERP_FILEDROP_DIR"):
        monkeypatch.delenv(name, raising=False)
    # the billing run happens today, so the marts are built as of today: a batch sent today
    # is not known to a build as of the sample's (past) as-of date
    today = datetime.now(UTC).date()
    dbt_build(warehouse, today, "fqn:*")
    period = "2025-05"
    before = _period_figures(warehouse, period)
    frozen = {
        cid
        for (cid,) in query(
            warehouse,
            "SELECT correlation_id FROM marts.billing_batch_candidates WHERE period = ?",
            [period],
        )
    }
    assert before["candidates"] == len(frozen) > 0 and before["write_back_lines"] == 0

    # bill the period: freeze, send, read back, reconcile; the ERP holds draft invoices
    assert _run_period(f"{period}-01").success
    dbt_build(warehouse, today, DBT_AFTER_BILLING)
    drafted = _period_figures(warehouse, period)
    assert drafted["candidates"] == 0
    assert drafted["batched_hours"] == before["batched_hours"] + before["candidate_hours"]
    assert drafted["invoiced_hours"] == before["invoiced_hours"]  # drafts are not invoiced
    ((batched_records, with_key),) = query(
        warehouse,
        "SELECT count(*), count(batch_key) FROM (SELECT correlation_id, batch_key FROM "
        "marts.fct_time_entries UNION ALL SELECT correlation_id, batch_key FROM "
        "marts.fct_expenses) WHERE correlation_id IN (SELECT unnest(?))",
        [sorted(frozen)],
    )
    assert batched_records == with_key == len(frozen)

    # finance posts the invoices in the ERP; the next run reads them back as posted
    settings = ErpSettings.from_env()
    with make_adapter(settings) as adapter:
        if isinstance(adapter, FileDropAdapter):
            # the ERP's journal import books a dropped file by moving it to acknowledged/
            adapter.acknowledged.mkdir(parents=True, exist_ok=True)
            for dropped in adapter.root.glob("*.csv"):
                dropped.rename(adapter.acknowledged / dropped.name)
        else:
            # releasing an old period on purpose: its due dates are already past
            adapter.post(
                [inv.document_id for inv in adapter.read_invoices()],
                acknowledge=["invoice_payment_term"],
            )
    assert _run_period(f"{period}-01").success
    dbt_build(warehouse, today, DBT_AFTER_BILLING)
    posted = _period_figures(warehouse, period)
    assert posted["candidates"] == 0
    assert posted["invoiced_hours"] == before["invoiced_hours"] + before["candidate_hours"]
    assert posted["write_back_lines"] > 0
    # every frozen record is on exactly one ERP invoice line, none twice, none missing
    lines_per_record = dict(
        query(
            warehouse,
            "SELECT r.correlation_id, count(*) FROM marts.fct_invoice_line_records r "
            "JOIN marts.fct_invoice_lines l USING (invoice_line_id) "
            "WHERE l.invoice_origin = 'write_back' GROUP BY 1",
        )
    )
    assert set(lines_per_record) == frozen
    assert set(lines_per_record.values()) == {1}
    # the ERP's invoices carry their batch keys and tie out with the outbox
    ((invoices, keyed, untied),) = query(
        warehouse,
        """
        SELECT count(*), count(i.batch_key),
               count(*) FILTER (WHERE i.subtotal != o.total_amount)
        FROM marts.fct_invoices i JOIN ops.erp_outbox o USING (batch_key)
        WHERE i.invoice_origin = 'write_back'
        """,
    )
    assert invoices == keyed > 0 and untied == 0
    statuses = dict(query(warehouse, "SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1"))
    assert statuses == {"reconciled": invoices}


# --- the semantic layer ---------------------------------------------------------------------


@pytest.mark.slow
def test_metricflow_answers_from_the_marts(sample_run: PipelineRun, tmp_path) -> None:
    """``mf query`` (the README's example) gives the marts' figures: WIP value per legal
    entity of the project, and the funnel's billable hours per month."""
    import csv
    import os
    import subprocess
    import sys

    from dagster_project.dbt import DBT_PROJECT_DIR

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_run.warehouse, warehouse)  # mf opens the file for writing
    mf = Path(sys.executable).parent / "mf"
    env = {**os.environ, "D2B_WAREHOUSE": str(warehouse), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}

    def mf_query(metrics: str, group_by: str) -> list[dict[str, str]]:
        out = tmp_path / f"{metrics}.csv"
        subprocess.run(
            [mf, "query", "--metrics", metrics, "--group-by", group_by, "--csv", str(out)],
            cwd=DBT_PROJECT_DIR,
            env=env,
            check=True,
            capture_output=True,
        )
        with open(out, newline="") as fh:
            return list(csv.DictReader(fh))

    wip = mf_query("unbilled_approved_value,unbilled_approved_hours", "project__legal_entity")
    expected = dict(
        (r[0] or "", (r[1], r[2]))
        for r in query(
            warehouse,
            "SELECT p.legal_entity, sum(w.unbilled_value_reporting), "
            "sum(w.unbilled_approved_hours) FROM marts.unbilled_approved_hours w "
            "LEFT JOIN marts.dim_projects p USING (project_id) GROUP BY 1",
        )
    )
    got = {
        r["project__legal_entity"]: (
            Decimal(r["unbilled_approved_value"]),
            Decimal(r["unbilled_approved_hours"]),
        )
        for r in wip
    }
    assert got == expected and len(got) > 1

    monthly = mf_query("billable_hours", "metric_time__month")
    funnel = dict(
        query(
            warehouse,
            "SELECT strftime(work_month, '%Y-%m'), sum(billable_hours) FROM marts.billing_funnel "
            "GROUP BY 1",
        )
    )
    assert {r["metric_time__month"][:7]: Decimal(r["billable_hours"]) for r in monthly} == funnel

    lags = mf_query("median_lag_days,p90_lag_days,sla_breaches", "lag_row__lag_kind")
    summary = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "SELECT lag_kind, median_days, p90_days, sla_breach_count + open_past_sla_count "
            "FROM marts.lag_summary",
        )
    }
    got_lags = {
        r["lag_row__lag_kind"]: (
            float(r["median_lag_days"]),
            float(r["p90_lag_days"]),
            int(r["sla_breaches"]),
        )
        for r in lags
    }
    assert set(got_lags) == set(summary) == {"time_approval", "expense_posting", "invoice_release"}
    for kind, (median, p90, breaches) in got_lags.items():
        assert median == pytest.approx(summary[kind][0]) and p90 == pytest.approx(summary[kind][1])
        assert breaches == summary[kind][2]
