"""Contract billing terms on the generated sample firm (docs/design.md §4, "Billing basis").

The generated firm mixes billing methods (docs/generator.md) but its CRM export carries no
schedule lines and no caps, so every contract bills by its hours: the unbilled amount per
contract is the ground truth's WIP at rate (unbilled_wip.csv) and nothing is excluded from
it. The per-method figures are checked on a hand-written firm (tests/test_firm_billing_terms.py).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from tests.pipeline_runs import PipelineRun, query, read_truth


def test_without_schedule_lines_every_contract_is_unbilled_at_rate(
    sample_run: PipelineRun,
) -> None:
    truth: dict[str, Decimal] = defaultdict(Decimal)
    for r in read_truth(sample_run.truth_dir, "unbilled_wip.csv"):
        truth[r["contract_id"]] += Decimal(r["unbilled_value"])
    rows = query(
        sample_run.warehouse,
        "SELECT contract_source_id, billing_basis, amount_due, unbilled_amount "
        "FROM marts.contract_unbilled_by_method",
    )
    methods = dict(
        query(
            sample_run.warehouse,
            "SELECT billing_method, count(*) FROM marts.contract_unbilled_by_method GROUP BY 1",
        )
    )
    assert {"fixed_fee", "retainer", "milestone", "time_and_materials"} <= set(methods)
    assert {(basis, due) for _, basis, due, _ in rows} == {("hours", None)}
    got = {contract: amount for contract, _, _, amount in rows if amount != 0}
    assert truth and got == {k: v for k, v in truth.items() if v != 0}


def test_without_caps_or_schedules_no_work_is_excluded_from_wip(sample_run: PipelineRun) -> None:
    assert query(sample_run.warehouse, "SELECT count(*) FROM marts.wip_excluded_time_entries") == [
        (0,)
    ]


def test_without_schedule_lines_only_time_and_expenses_are_billing_candidates(
    sample_run: PipelineRun,
) -> None:
    kinds = query(
        sample_run.warehouse, "SELECT DISTINCT line_kind FROM marts.billing_batch_candidates"
    )
    assert kinds and {kind for (kind,) in kinds} <= {"labour", "expense"}
    schedule_amounts = "SELECT count(*) FROM intermediate.int_contract_schedule_amounts"
    assert query(sample_run.warehouse, schedule_amounts) == [(0,)]
