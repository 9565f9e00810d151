"""Revenue recognized against billed per contract and month (``contract_revenue_monthly``,
docs/design.md §4) on the sample firm: the month-to-month roll-forward, time-and-materials
revenue as the work delivered at rate, fixed fees never past the fee, and billing that ties
out to the released ERP labour lines. The arithmetic per method on hand-made rows is the dbt
unit test ``contract_revenue_by_method_with_asset_and_liability``."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from tests.pipeline_runs import PipelineRun, query


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def test_each_contract_rolls_forward_month_by_month_to_the_as_of_month(
    sample_run: PipelineRun,
) -> None:
    rows = query(
        sample_run.warehouse,
        """
        select contract_source_id, month_start_date, opening_position, recognized_revenue,
            billed_amount, closing_position, recognized_to_date, billed_to_date,
            contract_asset, contract_liability
        from marts.contract_revenue_monthly
        order by contract_source_id, month_start_date
        """,
    )
    months = defaultdict(list)
    for row in rows:
        months[row[0]].append(row[1:])
    assert len(months) > 10
    as_of_month = sample_run.as_of.replace(day=1)
    for contract, history in months.items():
        closing_before = Decimal(0)
        recognized, billed = Decimal(0), Decimal(0)
        for index, (month, opening, rec, bill, closing, rec_td, bill_td, asset, liab) in enumerate(
            history
        ):
            if index:
                assert month == _next_month(history[index - 1][0]), (contract, month)
            assert opening == closing_before, (contract, month)
            assert opening + rec - bill == closing, (contract, month)
            recognized, billed = recognized + rec, billed + bill
            assert (rec_td, bill_td) == (recognized, billed), (contract, month)
            assert asset - liab == closing and min(asset, liab) == 0, (contract, month)
            closing_before = closing
        assert history[-1][0] == as_of_month, contract


def test_recognized_time_and_materials_revenue_is_the_work_delivered_at_rate(
    sample_run: PipelineRun,
) -> None:
    # delivered value as project_financials_monthly measures it (billable value at the
    # resolved rate of the work known by the as-of date), per contract
    delivered = dict(
        query(
            sample_run.warehouse,
            """
            select contract_source_id, sum(billable_value)
            from marts.project_financials_monthly
            where billing_method = 'time_and_materials'
            group by contract_source_id
            having sum(billable_value) != 0
            """,
        )
    )
    recognized = dict(
        query(
            sample_run.warehouse,
            """
            select contract_source_id, sum(recognized_revenue)
            from marts.contract_revenue_monthly
            where billing_method = 'time_and_materials'
            group by contract_source_id
            having sum(recognized_revenue) != 0
            """,
        )
    )
    assert len(delivered) > 10
    assert recognized == delivered


def test_billed_ties_out_to_the_released_labour_lines(sample_run: PipelineRun) -> None:
    [(invoiced, billed)] = query(
        sample_run.warehouse,
        """
        select
            (select sum(amount) from marts.fct_invoice_lines
             where line_kind = 'labour' and is_released and released_date <= ?),
            (select sum(billed_amount) from marts.contract_revenue_monthly)
        """,
        [sample_run.as_of],
    )
    assert invoiced > 0
    assert billed == invoiced


def test_every_method_recognizes_and_a_fixed_fee_never_past_its_fee(
    sample_run: PipelineRun,
) -> None:
    methods = dict(
        query(
            sample_run.warehouse,
            """
            select recognition_method, sum(recognized_revenue)
            from marts.contract_revenue_monthly group by recognition_method
            """,
        )
    )
    assert set(methods) == {"as_delivered", "percentage_of_completion", "straight_line"}
    assert all(amount > 0 for amount in methods.values())
    past_the_fee = query(
        sample_run.warehouse,
        """
        select contract_source_id, month_start_date from marts.contract_revenue_monthly
        where recognition_method = 'percentage_of_completion'
            and (recognized_to_date > contract_fee or recognized_revenue < 0)
        """,
    )
    assert past_the_fee == []
