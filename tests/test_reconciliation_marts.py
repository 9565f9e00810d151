"""The reconciliation marts (issue 6, ``models/marts/reconciliation``) against the truth.

The whole graph runs once per session on the default sample (``sample_run``); the marts
are compared with what the generator wrote from its own state (docs/generator.md, "Ground
truth") and with the reference script (``bench/headline_figures.sql``):

* ``record_lags``: every row of ``expense_posting_lags.csv`` and
  ``invoice_release_delays.csv``, approval instants to the second, lags to the day;
* ``lag_summary``: median, p90 and SLA breaches recomputed from those files by
  ``bench.reference._summary_from_truth``; the time approval lag (which has no
  truth file) and every open count against the reference script's ``lag_summary``;
* ``reconciliation_records``: every approved, billable, valid record is matched (on a
  released invoice line) or carries a reason; the unmatched ones are exactly the truth's
  unbilled WIP per project, and the invoiced hours per project are ``funnel_hours.csv``'s;
* ``reconciliation_control_totals``: ties out with the records and with the ERP facts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from bench.reference import _summary_from_truth, compute_reference
from tests.pipeline_runs import PipelineRun, dbt_check_failures, query, read_truth

#: Lag kinds with a truth file: (file, calendar days column, business days column).
LAG_TRUTH = {
    "expense_posting": ("expense_posting_lags.csv", "lag_days", "lag_business_days"),
    "invoice_release": ("invoice_release_delays.csv", "delay_days", "delay_business_days"),
}

#: The reference script's lag_summary metric of each lag kind.
REFERENCE_METRICS = {
    "time_approval": "time_approval_lag",
    "expense_posting": "expense_posting_lag",
    "invoice_release": "invoice_release_delay",
}

#: The models of marts/reconciliation and the singular tests that guard them.
RECONCILIATION_MODELS = (
    "record_lags",
    "lag_summary",
    "lag_summary_monthly",
    "reconciliation_records",
    "reconciliation_control_totals",
)
SINGULAR_TESTS = (
    "assert_lag_business_days_match_calendar",
    "assert_lag_summary_monthly_adds_up",
    "assert_reconciliation_control_totals_tie_out",
    "assert_reconciliation_covers_every_record",
)

SUMMARY_COLUMNS = (
    "sla_business_days",
    "measured_count",
    "open_count",
    "median_days",
    "p90_days",
    "median_business_days",
    "p90_business_days",
    "sla_breach_count",
    "open_past_sla_count",
)


# --- helpers --------------------------------------------------------------------------


def _instant(value: datetime) -> str:
    """A naive UTC timestamp as the truth writes instants."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _whole_days(value: float | None) -> str:
    """A lag in whole days as the truth writes it ('' while open)."""
    if value is None:
        return ""
    assert value == int(value), f"not a whole number of days: {value}"
    return str(int(value))


def _same(got: object, expected: object) -> bool:
    """Equal as numbers (quantiles to 1e-9 of a day), or both missing."""
    missing = (got is None or (isinstance(got, float) and math.isnan(got)), expected is None)
    if any(missing):
        return all(missing)
    return math.isclose(float(got), float(expected), rel_tol=0, abs_tol=1e-9)


def lag_summary(run: PipelineRun) -> dict[str, dict[str, object]]:
    rows = query(
        run.warehouse,
        f"SELECT lag_kind, {', '.join(SUMMARY_COLUMNS)} FROM marts.lag_summary",
    )
    return {r[0]: dict(zip(SUMMARY_COLUMNS, r[1:], strict=True)) for r in rows}


def assert_expense_posting_lags_match(run: PipelineRun) -> None:
    truth = {r["concur_entry_id"]: r for r in read_truth(run.truth_dir, "expense_posting_lags.csv")}
    rows = query(
        run.warehouse,
        """
        SELECT source_id, document_number, started_at, finish_date, lag_days,
            lag_business_days, is_open
        FROM marts.record_lags
        WHERE lag_kind = 'expense_posting'
        """,
    )
    ours = {}
    for source_id, report, approved_at, posted, days, business, is_open in rows:
        assert is_open == (posted is None), source_id
        ours[source_id] = {
            "concur_entry_id": source_id,
            "report_id": report,
            "approved_at": _instant(approved_at),
            "posted_date": "" if posted is None else posted.isoformat(),
            "lag_days": _whole_days(days),
            "lag_business_days": "" if business is None else str(business),
        }
    assert truth, "the truth has no expense lines"
    assert len(ours) == len(rows), "one row per expense line"
    assert set(ours) == set(truth)
    differing = [(k, ours[k], truth[k]) for k in sorted(truth) if ours[k] != truth[k]]
    assert not differing, differing[:5]


def assert_invoice_release_delays_match(run: PipelineRun) -> None:
    truth = {r["internal_id"]: r for r in read_truth(run.truth_dir, "invoice_release_delays.csv")}
    rows = query(
        run.warehouse,
        """
        SELECT source_id, document_number, start_date, finish_date, lag_days,
            lag_business_days
        FROM marts.record_lags
        WHERE lag_kind = 'invoice_release' AND NOT is_open
        """,
    )
    ours = {
        source_id: {
            "internal_id": source_id,
            "tranid": tranid,
            "ready_date": ready.isoformat(),
            "released_date": released.isoformat(),
            "delay_days": _whole_days(days),
            "delay_business_days": str(business),
        }
        for source_id, tranid, ready, released, days, business in rows
    }
    assert truth, "the truth has no released invoices"
    assert len(ours) == len(rows), "one row per invoice"
    assert set(ours) == set(truth)
    differing = [(k, ours[k], truth[k]) for k in sorted(truth) if ours[k] != truth[k]]
    assert not differing, differing[:5]
    # the open ones are the invoices issued but not released by the as-of date
    ((open_lags, unreleased),) = query(
        run.warehouse,
        """
        SELECT
            (SELECT count(*) FROM marts.record_lags
             WHERE lag_kind = 'invoice_release' AND is_open),
            (SELECT count(*) FROM marts.fct_invoices
             WHERE invoice_date <= ? AND NOT is_released)
        """,
        [run.as_of],
    )
    assert open_lags == unreleased


def assert_lag_summary_matches_truth(run: PipelineRun) -> None:
    summary = lag_summary(run)
    for kind, (file_name, days, business) in LAG_TRUTH.items():
        ours = summary[kind]
        expected = _summary_from_truth(
            read_truth(run.truth_dir, file_name), days, business, int(ours["sla_business_days"])
        )
        got = {
            "measured": ours["measured_count"],
            "median_days": ours["median_days"],
            "p90_days": ours["p90_days"],
            "median_business_days": ours["median_business_days"],
            "p90_business_days": ours["p90_business_days"],
            "sla_breaches": ours["sla_breach_count"],
        }
        assert expected["measured"] > 0, kind
        differing = {c: (got[c], v) for c, v in expected.items() if not _same(got[c], v)}
        assert not differing, (kind, differing)


def assert_lag_summary_matches_reference(run: PipelineRun, reference: pd.DataFrame) -> None:
    """Every lag kind, the time approval lag above all (no truth file has it), against the
    reference script: counts, quantiles to 1e-9 of a day (the time approval lag is kept to
    the second, in days), breaches, open records and those already past their SLA."""
    summary = lag_summary(run)
    rows = {r["metric"]: r for r in reference.to_dict("records")}
    assert set(rows) == set(REFERENCE_METRICS.values())
    for kind, metric in REFERENCE_METRICS.items():
        ours, theirs = summary[kind], rows[metric]
        pairs = {
            "sla_business_days": "sla_business_days",
            "measured_count": "measured",
            "open_count": "open_items",
            "median_days": "median_days",
            "p90_days": "p90_days",
            "median_business_days": "median_business_days",
            "p90_business_days": "p90_business_days",
            "sla_breach_count": "sla_breaches",
            "open_past_sla_count": "open_past_sla",
        }
        differing = {
            ours_name: (ours[ours_name], theirs[ref_name])
            for ours_name, ref_name in pairs.items()
            if not _same(ours[ours_name], theirs[ref_name])
        }
        assert not differing, (kind, differing)
    assert summary["time_approval"]["measured_count"] > 0


def assert_unmatched_billable_records_are_the_truths_wip(run: PipelineRun) -> None:
    """The approved, billable, valid time entries the reconciliation finds not invoiced
    (reason set, not on a released invoice line) are the truth's unbilled WIP: hours and
    value per project, exactly."""
    truth = {
        r["project_code"]: (Decimal(r["unbilled_hours"]), Decimal(r["unbilled_value"]))
        for r in read_truth(run.truth_dir, "unbilled_wip.csv")
    }
    rows = query(
        run.warehouse,
        """
        SELECT project_code, sum(psa_hours), sum(psa_amount),
            count(*) FILTER (WHERE difference_reason IS NULL)
        FROM marts.reconciliation_records
        WHERE record_kind = 'time_entry' AND is_on_billing_side AND is_valid
            AND NOT (billing_line_count > 0 AND is_invoice_released)
        GROUP BY project_code
        """,
    )
    assert truth, "the truth has no unbilled work"
    assert all(r[3] == 0 for r in rows), "an unbilled record without a reason"
    got = {r[0]: (r[1], r[2]) for r in rows}
    assert set(got) == set(truth)
    differing = {k: (got[k], truth[k]) for k in truth if got[k] != truth[k]}
    assert not differing, list(differing.items())[:5]


def assert_invoiced_hours_match_funnel(run: PipelineRun) -> None:
    truth: dict[str, Decimal] = defaultdict(Decimal)
    for r in read_truth(run.truth_dir, "funnel_hours.csv"):
        truth[r["project_code"]] += Decimal(r["invoiced_hours"])
    expected = {code: hours for code, hours in truth.items() if hours}
    rows = query(
        run.warehouse,
        """
        SELECT project_code, sum(erp_hours)
        FROM marts.reconciliation_records
        WHERE record_kind = 'time_entry' AND is_invoice_released
        GROUP BY project_code
        """,
    )
    got = {code: hours for code, hours in rows if hours}
    assert expected, "the truth has no invoiced hours"
    assert got == expected


def assert_control_totals_tie_out(run: PipelineRun) -> None:
    """Σ over records = Σ over invoices and journals, per batch; and the ERP side of the
    control totals is the ERP's own: invoice subtotals, labour quantities, journal lines."""
    per_invoice = query(
        run.warehouse,
        """
        WITH from_records AS (
            SELECT invoice_id, count(*) AS records, sum(erp_hours) AS hours
            FROM marts.reconciliation_records
            WHERE is_known AND billing_line_count > 0
            GROUP BY invoice_id
        )
        SELECT c.batch_id, c.psa_record_count, r.records, c.psa_hours, coalesce(r.hours, 0)
        FROM marts.reconciliation_control_totals AS c
        FULL JOIN from_records AS r ON c.batch_id = r.invoice_id
        WHERE coalesce(c.control_kind, 'invoice') = 'invoice'
        """,
    )
    assert per_invoice
    differing = [r for r in per_invoice if (r[1], r[3]) != (r[2] or 0, r[4])]
    assert not differing, differing[:5]

    per_journal = query(
        run.warehouse,
        """
        WITH from_records AS (
            SELECT journal_number, count(*) AS records,
                sum(concur_posted_amount) AS concur, sum(erp_posted_amount) AS erp
            FROM marts.reconciliation_records
            WHERE record_kind = 'expense' AND is_known AND is_approved
            GROUP BY journal_number
        ),
        from_totals AS (
            SELECT batch_number AS journal_number, sum(psa_record_count) AS records,
                sum(psa_amount) AS concur, sum(nullif(erp_amount, 0)) AS erp
            FROM marts.reconciliation_control_totals
            WHERE control_kind = 'expense_journal'
            GROUP BY batch_number
        )
        -- Concur lines without a journal yet meet under the empty journal number
        SELECT coalesce(t.journal_number, r.journal_number), t.records, r.records,
            t.concur, r.concur, t.erp, r.erp
        FROM from_totals AS t
        FULL JOIN from_records AS r
            ON coalesce(t.journal_number, '') = coalesce(r.journal_number, '')
        """,
    )
    assert per_journal
    differing = [r for r in per_journal if (r[1], r[3], r[5]) != (r[2], r[4], r[6])]
    assert not differing, differing[:5]

    ((subtotals, totals, quantities, erp_hours, references, erp_records),) = query(
        run.warehouse,
        """
        SELECT
            (SELECT sum(subtotal) FROM marts.fct_invoices WHERE invoice_date <= ?),
            (SELECT sum(erp_amount) FROM marts.reconciliation_control_totals
             WHERE control_kind = 'invoice'),
            (SELECT sum(l.quantity) FROM marts.fct_invoice_lines AS l
             JOIN marts.fct_invoices AS i USING (invoice_id)
             WHERE l.line_kind = 'labour' AND i.invoice_date <= ?),
            (SELECT sum(erp_hours) FROM marts.reconciliation_control_totals
             WHERE control_kind = 'invoice'),
            (SELECT sum(l.billed_record_count) FROM marts.fct_invoice_lines AS l
             JOIN marts.fct_invoices AS i USING (invoice_id) WHERE i.invoice_date <= ?),
            (SELECT sum(erp_record_count) FROM marts.reconciliation_control_totals
             WHERE control_kind = 'invoice')
        """,
        [run.as_of] * 3,
    )
    assert (totals, erp_hours, erp_records) == (subtotals, quantities, references)


def assert_control_reasons_follow_the_legacy_billing(run: PipelineRun) -> None:
    """The legacy ERP bills time and materials at the resolved rate and the other methods at
    an agreed amount (docs/generator.md): T&M invoices match, the others are explained as
    agreed_amount (or match), every journal matches Concur, and the Concur lines waiting for
    a journal are the truth's unposted expense lines."""
    outcomes = set(
        query(
            run.warehouse,
            """
            SELECT control_kind, coalesce(billing_method, ''), control_status,
                coalesce(difference_reason, '')
            FROM marts.reconciliation_control_totals
            GROUP BY ALL
            """,
        )
    )
    assert ("invoice", "time_and_materials", "matched", "") in outcomes
    assert ("expense_journal", "", "matched", "") in outcomes
    allowed = {
        ("invoice", "time_and_materials", "matched", ""),
        ("expense_journal", "", "matched", ""),
        ("expense_journal", "", "timing", "journal_not_posted"),
    } | {
        ("invoice", method, status, reason)
        for method in ("fixed_fee", "retainer", "milestone")
        for status, reason in (("explained", "agreed_amount"), ("matched", ""))
    }
    assert outcomes <= allowed, outcomes - allowed
    unposted = {
        r["concur_entry_id"]
        for r in read_truth(run.truth_dir, "expense_posting_lags.csv")
        if r["posted_date"] == ""
    }
    waiting = query(
        run.warehouse,
        "SELECT source_id FROM marts.reconciliation_records "
        "WHERE posting_reason = 'expense_not_posted'",
    )
    ((waiting_in_totals,),) = query(
        run.warehouse,
        "SELECT coalesce(sum(psa_record_count), 0) FROM marts.reconciliation_control_totals "
        "WHERE difference_reason = 'journal_not_posted'",
    )
    assert {r[0] for r in waiting} == unposted
    assert waiting_in_totals == len(unposted)


def assert_reconciliation_checks_pass(run: PipelineRun) -> None:
    names = list(run.check_results)
    for model in RECONCILIATION_MODELS:
        assert any(n.startswith(f"marts/{model}:") for n in names), model
    for test in SINGULAR_TESTS:
        assert any(n.endswith(f":{test}") for n in names), test
    mine = [
        n
        for n in dbt_check_failures(run)
        if n.split("/")[-1].split(":")[0] in RECONCILIATION_MODELS
    ]
    assert not mine, mine


# --- the default sample -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_reference(sample_run: PipelineRun) -> dict[str, pd.DataFrame]:
    """The reference script's figures on the sample's landing zone."""
    return compute_reference(sample_run.landing, sample_run.as_of, threads=1)


def test_reconciliation_models_and_their_dbt_tests_pass(sample_run: PipelineRun) -> None:
    assert_reconciliation_checks_pass(sample_run)


def test_expense_posting_lags_match_the_truth_per_line(sample_run: PipelineRun) -> None:
    assert_expense_posting_lags_match(sample_run)


def test_invoice_release_delays_match_the_truth_per_invoice(sample_run: PipelineRun) -> None:
    assert_invoice_release_delays_match(sample_run)


def test_lag_summary_matches_the_truth_files(sample_run: PipelineRun) -> None:
    assert_lag_summary_matches_truth(sample_run)


def test_lag_summary_matches_the_reference_script(
    sample_run: PipelineRun, sample_reference: dict[str, pd.DataFrame]
) -> None:
    assert_lag_summary_matches_reference(sample_run, sample_reference["lag_summary"])


def test_time_approval_lags_are_per_entry_to_the_second(sample_run: PipelineRun) -> None:
    """One row per submitted entry; a finished one is approved_at - submitted_at of its
    fact row to the second, an open one is a submitted entry not approved by the as-of
    date."""
    ((rows, entries, wrong, open_rows, submitted),) = query(
        sample_run.warehouse,
        """
        SELECT
            count(*),
            count(DISTINCT l.record_id),
            count(*) FILTER (WHERE NOT l.is_open AND (
                l.lag_seconds != epoch(t.approved_at) - epoch(t.submitted_at)
                OR l.lag_days != l.lag_seconds / 86400
                OR l.started_at != t.submitted_at OR l.finished_at != t.approved_at)),
            count(*) FILTER (WHERE l.is_open),
            (SELECT count(*) FROM marts.fct_time_entries WHERE approval_status = 'submitted')
        FROM marts.record_lags AS l
        JOIN marts.fct_time_entries AS t ON l.record_id = t.time_entry_id
        WHERE l.lag_kind = 'time_approval'
        """,
    )
    assert rows == entries > 0
    assert wrong == 0
    assert open_rows == submitted > 0


def test_monthly_lag_summary_breaks_the_summary_down(sample_run: PipelineRun) -> None:
    """Per lag kind, the monthly rows add up to the summary; a month's median is the median
    of the lags that finished in it."""
    summary = lag_summary(sample_run)
    monthly = query(
        sample_run.warehouse,
        "SELECT lag_kind, sum(measured_count), sum(open_count), sum(sla_breach_count), "
        "count(DISTINCT legal_entity) FROM marts.lag_summary_monthly GROUP BY lag_kind",
    )
    assert {r[0] for r in monthly} == set(REFERENCE_METRICS)
    for kind, measured, open_count, breaches, entities in monthly:
        assert (measured, open_count, breaches) == (
            summary[kind]["measured_count"],
            summary[kind]["open_count"],
            summary[kind]["sla_breach_count"],
        ), kind
        assert entities > 1, kind
    ((median, recomputed),) = query(
        sample_run.warehouse,
        """
        SELECT m.median_days, (
            SELECT median(lag_days) FROM marts.record_lags AS l
            WHERE l.lag_kind = m.lag_kind AND l.legal_entity = m.legal_entity
                AND date_trunc('month', l.finish_date) = m.month_start_date)
        FROM marts.lag_summary_monthly AS m
        WHERE m.lag_kind = 'expense_posting' AND m.measured_count > 0
        ORDER BY m.measured_count DESC, m.month_start_date
        LIMIT 1
        """,
    )
    assert median == recomputed


def test_every_approved_billable_valid_record_is_matched_or_has_a_reason(
    sample_run: PipelineRun,
) -> None:
    """Matched means on a line of a released invoice, exactly as the core facts' invoiced
    flag says; every other approved, billable, valid record has a reason."""
    rows = query(
        sample_run.warehouse,
        """
        WITH expected AS (
            SELECT correlation_id, 'time_entry' AS kind, is_invoiced
            FROM marts.fct_time_entries
            WHERE is_approved AND is_billable AND is_valid
            UNION ALL
            SELECT correlation_id, 'expense', is_invoiced
            FROM marts.fct_expenses
            WHERE is_billable AND is_valid AND approved_at < ? AND batch_date <= ?
        )
        SELECT
            e.kind,
            count(*),
            count(r.correlation_id),
            count(*) FILTER (WHERE r.billing_reason IS NULL AND NOT e.is_invoiced),
            count(*) FILTER (WHERE r.billing_reason IS NOT NULL AND e.is_invoiced),
            count(*) FILTER (WHERE r.reconciliation_status != 'matched'
                AND r.difference_reason IS NULL),
            count(*) FILTER (WHERE r.reconciliation_status = 'matched')
        FROM expected AS e
        LEFT JOIN marts.reconciliation_records AS r USING (correlation_id)
        GROUP BY e.kind
        """,
        [datetime.combine(sample_run.as_of + timedelta(days=1), time()), sample_run.as_of],
    )
    assert {r[0] for r in rows} == {"time_entry", "expense"}
    for kind, expected, found, matched_uninvoiced, reasoned_invoiced, unexplained, matched in rows:
        assert found == expected, kind
        assert matched_uninvoiced == reasoned_invoiced == unexplained == 0, kind
        assert 0 < matched < expected, kind


def test_unmatched_billable_time_is_the_truths_unbilled_wip(sample_run: PipelineRun) -> None:
    assert_unmatched_billable_records_are_the_truths_wip(sample_run)


def test_invoiced_hours_per_project_match_the_funnel(sample_run: PipelineRun) -> None:
    assert_invoiced_hours_match_funnel(sample_run)


def test_reasons_tell_timing_hold_and_leakage_apart(sample_run: PipelineRun) -> None:
    """The sample has each of the legacy ERP's situations: unbilled work waiting for the
    next invoice, on a draft invoice, held by exceptions, and the ~2 % overlooked
    (leakage); skipped records are always older than the invoice that passed them by."""
    counts = dict(
        query(
            sample_run.warehouse,
            "SELECT difference_reason, count(*) FROM marts.reconciliation_records "
            "WHERE difference_reason IS NOT NULL GROUP BY 1",
        )
    )
    for reason in (
        "awaiting_invoice",
        "on_unreleased_invoice",
        "excepted_not_billable",
        "contract_on_hold",
        "skipped_by_invoice",
    ):
        assert counts.get(reason, 0) > 0, (reason, counts)
    ((skipped, billable, wrongly_dated),) = query(
        sample_run.warehouse,
        """
        SELECT
            count(*) FILTER (WHERE difference_reason = 'skipped_by_invoice'),
            count(*) FILTER (WHERE is_on_billing_side AND is_valid
                AND NOT has_contract_exception),
            count(*) FILTER (WHERE difference_reason = 'skipped_by_invoice'
                AND (first_passing_invoice_date < CAST(approved_at AS DATE)
                     OR first_passing_invoice_date <= record_date))
        FROM marts.reconciliation_records
        """,
    )
    assert wrongly_dated == 0
    # the generator overlooks 2 % of the eligible records
    assert 0.01 < skipped / billable < 0.03


def test_expenses_carry_the_amount_their_erp_posting_posts(sample_run: PipelineRun) -> None:
    """fct_expenses' posting amount and currency are the journal line's: the same as the
    reconciliation reads from the ERP export, for every expense posted by the as-of date."""
    ((posted, differing),) = query(
        sample_run.warehouse,
        """
        SELECT
            count(*),
            count(*) FILTER (WHERE e.erp_posted_amount IS DISTINCT FROM r.erp_posted_amount
                OR e.posting_currency IS DISTINCT FROM r.posting_currency)
        FROM marts.fct_expenses AS e
        JOIN marts.reconciliation_records AS r USING (correlation_id)
        WHERE e.is_posted
        """,
    )
    assert posted > 0 and differing == 0


def test_control_totals_tie_out_with_the_records_and_the_erp(sample_run: PipelineRun) -> None:
    assert_control_totals_tie_out(sample_run)


def test_control_total_reasons_follow_the_legacy_billing(sample_run: PipelineRun) -> None:
    assert_control_reasons_follow_the_legacy_billing(sample_run)


# --- a larger firm ----------------------------------------------------------------------


@pytest.mark.slow
def test_reconciliation_marts_match_the_truth_at_scale_0_2(scale_02_run: PipelineRun) -> None:
    assert_reconciliation_checks_pass(scale_02_run)
    assert_expense_posting_lags_match(scale_02_run)
    assert_invoice_release_delays_match(scale_02_run)
    assert_lag_summary_matches_truth(scale_02_run)
    reference = compute_reference(scale_02_run.landing, scale_02_run.as_of, threads=1)
    assert_lag_summary_matches_reference(scale_02_run, reference["lag_summary"])
    assert_unmatched_billable_records_are_the_truths_wip(scale_02_run)
    assert_invoiced_hours_match_funnel(scale_02_run)
    assert_control_totals_tie_out(scale_02_run)
    assert_control_reasons_follow_the_legacy_billing(scale_02_run)
