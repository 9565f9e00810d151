"""The benchmark's reference script (bench/headline_figures.sql) against the ground truth."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bench.reference import compare_with_truth, compute_reference
from dagster_project.cli import main as d2b
from ingest.generator import GenerationResult, generate
from tests.conftest import SAMPLE_AS_OF


@pytest.fixture(scope="module")
def reference(sample: GenerationResult):
    return compute_reference(sample.out_dir, SAMPLE_AS_OF)


def test_reference_equals_the_ground_truth(sample: GenerationResult, reference) -> None:
    assert compare_with_truth(reference, sample.truth_dir) == []


def test_reference_skips_the_malformed_page_and_the_duplicate_file(reference) -> None:
    skipped = {r["reason"]: r["path"] for r in reference["skipped_files"].to_dict("records")}
    assert set(skipped) == {"unparseable", "duplicate"}
    assert skipped["unparseable"].startswith("harvest/time_entries/")
    assert skipped["duplicate"].startswith("concur/expenses/")


def test_reference_figures_are_exact_and_consistent(reference) -> None:
    funnel = reference["funnel_hours"]
    assert isinstance(funnel["delivered_hours"].iloc[0], Decimal)
    for r in funnel.to_dict("records"):
        assert r["delivered_hours"] >= r["approved_hours"] >= r["billable_hours"]
        assert r["billable_hours"] >= r["paid_hours"] and r["invoiced_hours"] >= r["paid_hours"]
    wip = reference["unbilled_wip"]
    for r in wip.to_dict("records"):
        buckets = ("0_30", "31_60", "61_90", "91_120", "over_120")
        assert sum(r[f"hours_{b}"] for b in buckets) == r["unbilled_hours"]
        assert sum(r[f"value_{b}"] for b in buckets) == r["unbilled_value"]
    summary = reference["lag_summary"].set_index("metric")
    assert summary.loc["time_approval_lag", "sla_business_days"] == 2
    assert summary.loc["expense_posting_lag", "sla_business_days"] == 10
    assert summary.loc["invoice_release_delay", "sla_business_days"] == 5


def test_a_difference_is_reported(sample: GenerationResult, reference) -> None:
    changed = {name: frame.copy() for name, frame in reference.items()}
    changed["funnel_hours"].loc[0, "billable_hours"] += Decimal("0.25")
    changed["expense_posting_lags"] = changed["expense_posting_lags"].iloc[1:]
    differences = compare_with_truth(changed, sample.truth_dir)
    assert any(d.startswith("funnel_hours[") and ".billable_hours:" in d for d in differences)
    assert any("expense_posting_lags: 1 rows only in the truth" in d for d in differences)


def test_slas_are_configurable(sample: GenerationResult) -> None:
    strict = compute_reference(sample.out_dir, SAMPLE_AS_OF, slas={"sla_invoice_release": 0})
    summary = strict["lag_summary"].set_index("metric")
    assert summary.loc["invoice_release_delay", "sla_business_days"] == 0
    delays = strict["invoice_release_delays"]
    assert summary.loc["invoice_release_delay", "sla_breaches"] == sum(
        delays["delay_business_days"] > 0
    )
    with pytest.raises(ValueError, match="unknown SLA"):
        compute_reference(sample.out_dir, SAMPLE_AS_OF, slas={"sla_typo": 1})


def test_command_line(sample: GenerationResult, capsys) -> None:
    args = ["--landing", str(sample.out_dir), "--as-of", SAMPLE_AS_OF.isoformat()]
    assert d2b(["bench", "reference", *args, "--truth", str(sample.truth_dir)]) == 0
    out = capsys.readouterr().out
    assert "wall time" in out and "no differences" in out


@pytest.mark.slow
def test_reference_equals_the_ground_truth_at_scale_0_2(tmp_path: Path) -> None:
    as_of = date(2026, 3, 31)
    res = generate(tmp_path / "landing", scale=0.2, seed=7, as_of=as_of, progress=False)
    assert compare_with_truth(compute_reference(res.out_dir, as_of), res.truth_dir) == []
