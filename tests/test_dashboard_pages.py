"""The dashboard pages (issue 9) with Streamlit's AppTest, on the default sample firm.

Every figure a test checks is computed here from the published snapshot with SQL of its own
on the marts (an independent path to the same number), then compared with what the page
shows, formatted as the page formats it (``dashboards.format``).

Two homes: ``sample_run``'s own (the whole graph as of 2025-06-30, one snapshot, no billing
run yet) and ``billed_home``, a copy of it after a billing run of 2025-04 and 2025-05
through a file-drop ERP that, like the reference ERP's configuration, knows USD, EUR, GBP and
CAD only: the AUD and SGD batches are dead letters with the ERP's message, the others are
sent, April's are booked (posted) by the ERP; the marts downstream of the write-back are then
rebuilt and a second snapshot published (so the WIP tile has a previous snapshot to compare
with).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import format as fmt
from tests.pipeline_runs import PipelineRun, dbt_build

APP = str(Path(__file__).parent.parent / "dashboards" / "app.py")
#: Marts downstream of the write-back's tables (as tests/test_billing_marts.py rebuilds).
DBT_AFTER_BILLING = (
    "source:erp_api+ source:ops.erp_outbox_correlations+ source:ops.erp_outbox+ "
    "source:ops.audit_log+"
)
#: The billing run is dated the evening of the as-of date: the marts, built as of then,
#: count only write-back documents the pipeline knew by the end of that day.
BILLED_AT = datetime(2025, 6, 30, 18)


@pytest.fixture(scope="module")
def sample_home(sample_run: PipelineRun) -> Path:
    """``sample_run``'s D2B_HOME (its snapshot is published under it); read only."""
    return sample_run.warehouse.parent


@pytest.fixture(scope="module")
def billed_home(sample_run: PipelineRun, tmp_path_factory) -> Path:
    """A copy of the sample home after billing 2025-04 and 2025-05 (see the module doc)."""
    from erp import outbox
    from erp.adapters.filedrop import FileDropAdapter
    from erp.candidates import batches_for_period
    from erp.outbox import store as outbox_store
    from erp.run_billing import run_billing
    from erp.settings import DEFAULT_CURRENCIES
    from ingest.warehouse import connect
    from serving.snapshot import publish

    home = tmp_path_factory.mktemp("billed_home")
    shutil.copy(sample_run.warehouse, home / "warehouse.duckdb")
    shutil.copytree(sample_run.warehouse.parent / "serving", home / "serving")
    warehouse = home / "warehouse.duckdb"
    # an ERP set up for the North American and European entities only: the SGD and AUD
    # batches are business errors (dead letters with the ERP's message)
    erp = FileDropAdapter(
        home / "erp" / "filedrop",
        currencies={code for code, _ in DEFAULT_CURRENCIES} - {"SGD", "AUD"},
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outbox_store, "now_utc", lambda: BILLED_AT)
        with connect(warehouse) as con:
            for period in ("2025-04", "2025-05"):
                run_billing(con, erp, batches_for_period(con, period), f"dash-{period}")
            # the ERP's journal import books April's files: they read back as posted
            erp.acknowledged.mkdir(parents=True, exist_ok=True)
            for (batch_key,) in con.execute(
                "SELECT batch_key FROM ops.erp_outbox "
                "WHERE period = '2025-04' AND erp_document_id IS NOT NULL"
            ).fetchall():
                (erp.root / f"{batch_key}.csv").rename(erp.acknowledged / f"{batch_key}.csv")
            outbox.read_back(con, erp, "dash-book")
            outbox.reconcile(con, "dash-book", erp.name)
    dbt_build(warehouse, sample_run.as_of, DBT_AFTER_BILLING)
    with connect(warehouse) as con:
        publish(con, home / "serving")
    return home


@pytest.fixture
def at_home(monkeypatch):
    """Point the app at a D2B_HOME (the app reads it on every run)."""

    def point(home: Path) -> Path:
        monkeypatch.setenv("D2B_HOME", str(home))
        for name in ("D2B_LANDING", "D2B_WAREHOUSE", "DAGSTER_HOME"):
            monkeypatch.delenv(name, raising=False)
        return home

    return point


def snapshot_sql(home: Path, sql: str, params=None, *, previous: bool = False) -> list[tuple]:
    """Rows of ``sql`` on the home's current snapshot (or the one before it)."""
    serving = home / "serving"
    if previous:
        current = json.loads((serving / "CURRENT").read_text())["file"]
        path = sorted(p for p in (serving / "snapshots").glob("*.duckdb") if p.name < current)[-1]
    else:
        path = serving / "snapshots" / json.loads((serving / "CURRENT").read_text())["file"]
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def one(home: Path, sql: str, params=None, **kwargs):
    ((value,),) = snapshot_sql(home, sql, params, **kwargs)
    return value


def open_page(page: str, **url: str | list[str]) -> AppTest:
    """Run the app on ``page`` with ``url`` as query parameters (the global filters)."""
    app = AppTest.from_file(APP, default_timeout=120)
    for name, value in url.items():
        app.query_params[name] = value
    app.run()  # the default page first: AppTest finds pages reliably once the app has run
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    return app


def tiles(app: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta or None) for m in app.metric}


def frame(app: AppTest, name: str):
    """The table ``name`` (``dashboards.ui.table``) as a DataFrame."""
    return app.get_by_key(f"table_{name}").dataframe[0].value


def chart(app: AppTest, key: str) -> dict:
    return json.loads(app.get_by_key(key).proto.spec)


def history(home: Path) -> dict[str, str]:
    """The URL filters selecting every month of the firm's time history."""
    first, last = snapshot_sql(
        home,
        "SELECT strftime(min(work_month), '%Y-%m'), strftime(max(work_month), '%Y-%m') "
        "FROM marts.billing_funnel",
    )[0]
    return {"period_from": first, "period_to": last}


# --- executive overview -------------------------------------------------------------------


def last_complete_month(home: Path) -> date:
    """First day of the latest month whose invoicing is out (every invoice of its billing
    period released) and which ended by the as-of date: the sample firm invoices monthly."""
    return one(
        home,
        "SELECT max(period_start) FROM (SELECT billing_period_start_date AS period_start "
        "FROM marts.fct_invoices GROUP BY billing_period_start_date, billing_period_end_date "
        "HAVING bool_and(is_released) AND billing_period_end_date <= ?)",
        [date(2025, 6, 30)],
    )


def default_windows(home: Path) -> tuple[tuple[date, date], tuple[date, date]]:
    """The Executive page's default KPI window (three complete months) and the three before."""
    last = last_complete_month(home)
    first = (pd.Timestamp(last) - pd.DateOffset(months=2)).date()
    end = (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date()
    before = (pd.Timestamp(first) - pd.DateOffset(months=3)).date()
    return (first, end), (before, first - timedelta(days=1))


def test_executive_tiles_show_wip_and_its_change_since_the_previous_snapshot(billed_home, at_home):
    at_home(billed_home)
    app = open_page("views/executive.py")
    shown = tiles(app)

    wip_sql = "SELECT sum(unbilled_value_reporting) FROM marts.unbilled_approved_hours"
    wip = one(billed_home, wip_sql)
    wip_before = one(billed_home, wip_sql, previous=True)
    assert wip < wip_before  # April's posted write-back invoices left the WIP
    assert shown["WIP value (USD)"] == (fmt.money(wip), fmt.money_delta(wip - wip_before))
    hours = one(
        billed_home, "SELECT sum(unbilled_approved_hours) FROM marts.unbilled_approved_hours"
    )
    hours_before = one(
        billed_home,
        "SELECT sum(unbilled_approved_hours) FROM marts.unbilled_approved_hours",
        previous=True,
    )
    assert shown["Unbilled approved hours"] == (
        fmt.hours(hours),
        fmt.hours_delta(hours - hours_before),
    )
    # flows cover the last three complete months by default, against the three before
    (start, end), (before_start, before_end) = default_windows(billed_home)
    captions = " ".join(c.value for c in app.caption)
    assert f"**{start:%b %Y} – {end:%b %Y}**, change against" in captions
    assert f"{before_start:%b %Y} – {before_end:%b %Y}" in captions
    leakage = one(
        billed_home,
        "SELECT sum(leakage_amount_reporting) FROM marts.revenue_leakage "
        "WHERE record_date BETWEEN ? AND ?",
        [start, end],
    )
    assert shown["Revenue leakage (USD)"][0] == fmt.money(leakage)


def test_executive_tiles_over_the_whole_history_agree_with_the_kpi_marts(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/executive.py", **history(sample_home))
    shown = tiles(app)
    months = history(sample_home)
    # the history's months (a retainer's fee recognized before them is outside the window)
    ((billable, capacity, invoiced, at_rate, margin, recognized),) = snapshot_sql(
        sample_home,
        "SELECT sum(billable_hours), sum(capacity_hours), sum(invoiced_value_reporting), "
        "sum(invoiced_value_at_resolved_rate_reporting), sum(margin_reporting), "
        "sum(recognized_revenue_reporting) FROM marts.executive_kpis_monthly "
        "WHERE strftime(month_start_date, '%Y-%m') BETWEEN ? AND ?",
        [months["period_from"], months["period_to"]],
    )
    assert shown["Utilization"][0] == fmt.share(billable / capacity)
    assert shown["Realization"][0] == fmt.share(invoiced / at_rate)
    assert shown["Margin (USD)"][0] == fmt.money(margin)
    assert shown["Recognized revenue (USD)"][0] == fmt.money(recognized)
    median = one(
        sample_home,
        "SELECT median_business_days FROM marts.lag_summary WHERE lag_kind = 'invoice_release'",
    )
    assert shown["Invoice release delay"][0] == f"{fmt.days(median)} days"
    leakage = one(sample_home, "SELECT sum(leakage_amount_reporting) FROM marts.revenue_leakage")
    assert shown["Revenue leakage (USD)"][0] == fmt.money(leakage)
    # no earlier months and no earlier snapshot: no change shown
    assert shown["Utilization"][1] is None and shown["WIP value (USD)"][1] is None


def test_executive_marks_open_months_and_compares_only_complete_ones(sample_home, at_home):
    at_home(sample_home)
    # the sample firm's May is invoiced in part (drafts left), June not at all: both open
    assert last_complete_month(sample_home) == date(2025, 4, 1)
    default = tiles(open_page("views/executive.py"))
    assert default["Utilization"][1] is not None and default["Margin (USD)"][1] is not None
    app = open_page("views/executive.py", period_from="2025-04", period_to="2025-06")
    captions = " ".join(c.value for c in app.caption)
    assert "**May 2025 – Jun 2025 open**" in captions and "not compared" in captions
    shown = tiles(app)
    for flow in ("Utilization", "Realization", "Margin (USD)", "Revenue leakage (USD)"):
        assert shown[flow][1] is None, flow
    # the open months are shaded on the trends by month
    (shade,) = chart(app, "trend_margin_chart")["layout"]["shapes"]
    assert (shade["x0"][:10], shade["x1"][:10]) == ("2025-04-16", "2025-06-16")


def test_executive_shows_revenue_recognition_beside_the_margin(sample_home, at_home):
    """Per month of the chosen period: recognized revenue, billed and the month-end contract
    assets and liabilities (the firm's, in USD) beside the projects' cost and margin."""
    at_home(sample_home)
    months = history(sample_home)
    app = open_page("views/executive.py", **months)
    shown = frame(app, "trend_revenue_recognition")
    expected = snapshot_sql(
        sample_home,
        "SELECT month_start_date, recognized_revenue_reporting, billed_reporting, "
        "contract_asset_reporting, contract_liability_reporting, total_cost_reporting, "
        "margin_reporting FROM marts.executive_kpis_monthly "
        "WHERE strftime(month_start_date, '%Y-%m') BETWEEN ? AND ? ORDER BY 1",
        [months["period_from"], months["period_to"]],
    )
    assert len(expected) == 12
    assert set(shown["currency"]) == {"USD"}
    assert [pd.Timestamp(m).date() for m in shown["month_start_date"]] == [r[0] for r in expected]
    columns = (
        "recognized_revenue",
        "billed",
        "contract_assets",
        "contract_liabilities",
        "total_cost",
        "margin",
    )
    for (_, *figures), (_, row) in zip(expected, shown.iterrows(), strict=True):
        for column, figure in zip(columns, figures, strict=True):
            assert float(row[column]) == pytest.approx(float(figure), abs=0.005), column
    # recognized on the contracts = split over the projects: the margin's own revenue
    assert all(
        float(row["margin"])
        == pytest.approx(float(row["recognized_revenue"]) - float(row["total_cost"]), abs=0.01)
        for _, row in shown.iterrows()
    )
    assert float(shown["contract_liabilities"].sum()) > 0


def test_executive_shows_wip_over_120_days_and_its_largest_clients(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/executive.py")
    old = snapshot_sql(
        sample_home,
        "SELECT c.client_name, sum(w.value_aged_over_120_reporting) AS value "
        "FROM marts.unbilled_approved_hours w JOIN marts.dim_contracts USING (contract_id) "
        "JOIN marts.dim_clients c USING (client_id) WHERE w.hours_aged_over_120 > 0 "
        "GROUP BY 1 ORDER BY value DESC",
    )
    total = one(
        sample_home,
        "SELECT sum(value_aged_over_120_reporting) FROM marts.unbilled_approved_hours",
    )
    assert old and tiles(app)["WIP over 120 days (USD)"][0] == fmt.money(total)
    largest = frame(app, "wip_over_120_by_client")
    assert largest["client_name"].tolist() == [name for name, _ in old[:5]]
    assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in largest["value_aged_over_120"]] == [
        value for _, value in old[:5]
    ]


def test_executive_funnel_stages_are_the_billing_funnel_sums(billed_home, at_home):
    at_home(billed_home)
    app = open_page("views/executive.py")
    stages = ("delivered", "approved", "billable", "batched", "invoiced", "paid")
    sums = snapshot_sql(
        billed_home,
        "SELECT " + ", ".join(f"sum({s}_hours)" for s in stages) + " FROM marts.billing_funnel",
    )[0]
    (trace,) = chart(app, "funnel_chart")["data"]
    assert trace["type"] == "funnel"
    assert trace["y"] == [s.capitalize() for s in stages]
    assert trace["x"] == [float(v) for v in sums]
    assert sums[3] > sums[4] > 0  # batched (incl. the write-back drafts) above invoiced
    values = frame(app, "funnel")
    billable_value = one(
        billed_home, "SELECT sum(billable_value_reporting) FROM marts.billing_funnel"
    )
    row = values[values["stage"] == "billable"].iloc[0]
    assert Decimal(str(row["value USD"])).quantize(Decimal("0.01")) == billable_value


def test_executive_wip_aging_buckets_and_legal_entity_filter(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/executive.py", legal_entity=["DE01"], currency="contract")
    expected = dict(
        snapshot_sql(
            sample_home,
            "SELECT w.currency, sum(w.unbilled_value) FROM marts.unbilled_approved_hours w "
            "JOIN marts.dim_contracts c USING (contract_id) WHERE c.legal_entity = 'DE01' "
            "GROUP BY 1",
        )
    )
    assert expected
    shown = tiles(app)
    if len(expected) == 1:
        ((currency, value),) = expected.items()
        assert shown[f"WIP value ({currency})"][0] == fmt.money(value)
    else:
        assert shown["WIP value"][0] == f"{len(expected)} currencies"
        by_currency = frame(app, "kpis_by_currency").set_index("currency")["WIP value"]
        assert {k: round(v, 2) for k, v in by_currency.items()} == {
            k: float(v) for k, v in expected.items()
        }
    aging = frame(app, "wip_aging")
    buckets = snapshot_sql(
        sample_home,
        "SELECT sum(hours_aged_0_30), sum(hours_aged_31_60), sum(hours_aged_61_90), "
        "sum(hours_aged_91_120), sum(hours_aged_over_120) FROM marts.unbilled_approved_hours w "
        "JOIN marts.dim_contracts c USING (contract_id) WHERE c.legal_entity = 'DE01'",
    )[0]
    per_bucket = aging.groupby("age", sort=False)["hours"].sum()
    assert list(per_bucket.index) == [
        "0–30 days",
        "31–60 days",
        "61–90 days",
        "91–120 days",
        "> 120 days",
    ]
    assert [Decimal(str(v)) for v in per_bucket] == [Decimal(str(float(v))) for v in buckets]


def test_executive_wip_aging_in_the_reporting_currency(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/executive.py", currency="reporting")
    aging = frame(app, "wip_aging")
    buckets = snapshot_sql(
        sample_home,
        "SELECT sum(value_aged_0_30_reporting), sum(value_aged_31_60_reporting), "
        "sum(value_aged_61_90_reporting), sum(value_aged_91_120_reporting), "
        "sum(value_aged_over_120_reporting) FROM marts.unbilled_approved_hours",
    )[0]
    assert list(aging.columns) == ["age", "hours", "value USD"]
    assert [round(v, 2) for v in aging["value USD"]] == [float(v) for v in buckets]
    assert sum(buckets) == one(
        sample_home, "SELECT sum(unbilled_value_reporting) FROM marts.unbilled_approved_hours"
    )


def test_executive_says_which_filters_do_not_narrow_a_figure(sample_home, at_home):
    at_home(sample_home)
    practice = one(sample_home, "SELECT min(practice) FROM marts.dim_resources")
    app = open_page("views/executive.py", practice=[practice])
    notes = [c.value for c in app.caption if "Not narrowed by" in c.value]
    assert any("practice" in note and "WIP" in note for note in notes)
    # utilization does honour the practice
    (start, end), _ = default_windows(sample_home)
    window = snapshot_sql(
        sample_home,
        "SELECT sum(billable_hours) / sum(capacity_hours) FROM marts.utilization_monthly "
        "WHERE practice = ? AND month_start_date BETWEEN ? AND ?",
        [practice, start, end],
    )[0][0]
    assert tiles(app)["Utilization"][0] == fmt.share(window)


def test_another_as_of_date_explains_instead_of_showing_other_figures(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/executive.py", as_of="2025-03-31")
    assert "built as of **2025-06-30**" in app.warning[0].value
    assert not app.metric


# --- billing operations -------------------------------------------------------------------


def test_billing_operations_queue_batches_dead_letters_and_lags(billed_home, at_home):
    at_home(billed_home)
    app = open_page("views/billing_operations.py")
    shown = tiles(app)
    total = one(billed_home, "SELECT count(*) FROM marts.billing_exceptions")
    assert shown["Open exceptions"][0] == fmt.count(total)
    teams = frame(app, "exceptions_by_owner_team").set_index("owner_team")["exceptions"]
    assert teams.to_dict() == dict(
        snapshot_sql(
            billed_home, "SELECT owner_team, count(*) FROM marts.billing_exceptions GROUP BY 1"
        )
    )

    statuses = dict(
        snapshot_sql(billed_home, "SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1")
    )
    assert statuses["dead_letter"] > 0 and statuses["reconciled"] > 0
    assert shown["Dead letter"][0] == fmt.count(statuses["dead_letter"])
    assert shown["Reconciled"][0] == fmt.count(statuses["reconciled"])
    dead = frame(app, "dead_letters")
    assert len(dead) == statuses["dead_letter"]
    assert set(dead["currency"]) <= {"AUD", "SGD"}
    assert all("is not configured in the ERP" in e for e in dead["last_error"])
    assert len(frame(app, "billing_batches")) == sum(statuses.values())

    candidates = frame(app, "billing_candidates")
    assert candidates["records"].sum() == one(
        billed_home, "SELECT count(*) FROM marts.billing_batch_candidates"
    )
    lags = frame(app, "lag_summary").set_index("lag_kind")
    for kind, median, p90, breaches in snapshot_sql(
        billed_home,
        "SELECT lag_kind, median_business_days, p90_business_days, sla_breach_count "
        "FROM marts.lag_summary",
    ):
        assert lags.loc[kind, "median_business_days"] == pytest.approx(median)
        assert lags.loc[kind, "p90_business_days"] == pytest.approx(p90)
        assert lags.loc[kind, "sla_breach_count"] == breaches


def test_lags_from_the_records_equal_the_lag_summary_mart(sample_home, at_home):
    """The record-level query the pages use under a filter or a period (lag_stats) gives the
    mart's figures when nothing narrows it; the monthly histogram adds up to them."""
    from dashboards import data
    from dashboards.filters import Filters
    from serving.snapshot import current

    at_home(sample_home)
    path = current(sample_home / "serving").path
    params = {**Filters().params(), "lag_kind": [], "window_start": None, "window_end": None}
    stats = data.run_uncached(path, "lag_stats", params).set_index("lag_kind")
    mart = data.run_uncached(path, "lag_summary", {}).set_index("lag_kind")
    assert (
        stats.index.tolist()
        == mart.index.tolist()
        == [
            "time_approval",
            "expense_posting",
            "invoice_release",
        ]
    )
    for column in mart.columns:
        assert stats[column].tolist() == pytest.approx(mart[column].tolist(), nan_ok=True), column
    histogram = data.run_uncached(path, "lag_histogram", params)
    assert histogram.groupby("lag_kind")["records"].sum().to_dict() == (
        mart["measured_count"].to_dict()
    )


def test_billing_operations_drills_into_the_records_of_a_reason(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/billing_operations.py")
    reason, count = snapshot_sql(
        sample_home,
        "SELECT reason, count(*) FROM marts.billing_exceptions GROUP BY 1 ORDER BY 2 DESC, 1 "
        "LIMIT 1",
    )[0]
    app.selectbox(key="queue_reason").set_value(reason).run()
    records = frame(app, "exception_records")
    assert len(records) == count and set(records["reason"]) == {reason}
    # no billing run in this home: the page says so and shows what waits to be batched
    assert "No billing run yet" in app.info[0].value


def test_billing_operations_filters_by_legal_entity_and_period(billed_home, at_home):
    at_home(billed_home)
    (entity,) = snapshot_sql(
        billed_home,
        "SELECT legal_entity FROM ops.erp_outbox WHERE period = '2025-05' "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )[0]
    app = open_page(
        "views/billing_operations.py",
        legal_entity=[entity],
        period_from="2025-05",
        period_to="2025-06",
    )
    exceptions = one(
        billed_home,
        "SELECT count(*) FROM marts.billing_exceptions WHERE legal_entity = ? "
        "AND record_date BETWEEN DATE '2025-05-01' AND DATE '2025-06-30'",
        [entity],
    )
    assert tiles(app)["Open exceptions"][0] == fmt.count(exceptions)
    batches = frame(app, "billing_batches")
    assert sorted(batches["batch_key"]) == sorted(
        key
        for (key,) in snapshot_sql(
            billed_home,
            "SELECT batch_key FROM ops.erp_outbox WHERE legal_entity = ? AND period = '2025-05'",
            [entity],
        )
    )


# --- reconciliation -----------------------------------------------------------------------


def test_reconciliation_shows_statuses_reasons_and_control_totals(billed_home, at_home):
    at_home(billed_home)
    app = open_page("views/reconciliation.py")
    shown = tiles(app)
    statuses = dict(
        snapshot_sql(
            billed_home,
            "SELECT reconciliation_status, count(*) FROM marts.reconciliation_records GROUP BY 1",
        )
    )
    for status in ("matched", "timing", "held", "discrepancy"):
        assert shown[f"Records {status}"][0] == fmt.count(statuses.get(status, 0))
    reasons = frame(app, "reconciliation_by_reason")
    assert reasons["records"].sum() == sum(statuses.values())
    batches = dict(
        snapshot_sql(
            billed_home,
            "SELECT control_status, count(*) FROM marts.reconciliation_control_totals GROUP BY 1",
        )
    )
    assert shown["Batches matched"][0] == fmt.count(batches.get("matched", 0))
    totals = frame(app, "control_totals")
    assert len(totals) == one(
        billed_home,
        "SELECT count(*) FROM marts.reconciliation_control_totals WHERE control_kind = 'invoice'",
    )
    # missing numbers (ERP hours of an invoice without a batch) show the dash too, never None
    control_totals = app.get_by_key("table_control_totals").dataframe[0]
    assert totals.isna().any().any() and control_totals.proto.placeholder == fmt.MISSING
    # write-back invoices carry their billing batch (the others show a dash)
    assert (totals["batch_key"] != fmt.MISSING).sum() == one(
        billed_home,
        "SELECT count(*) FROM marts.reconciliation_control_totals t JOIN marts.fct_invoices i "
        "ON i.invoice_id = t.batch_id WHERE i.invoice_origin = 'write_back'",
    )

    reason, count = snapshot_sql(
        billed_home,
        "SELECT difference_reason, count(*) FROM marts.reconciliation_records "
        "WHERE reconciliation_status = 'discrepancy' GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )[0]
    app.multiselect(key="recon_status").set_value(["discrepancy"]).run()
    app.multiselect(key="recon_reason").set_value([reason]).run()
    rows = frame(app, "reconciliation_records")
    assert len(rows) == min(count, 2000)
    assert set(rows["difference_reason"]) == {reason}


def test_records_of_a_dead_lettered_batch_are_discrepancies_not_timing(billed_home):
    """The ERP refused the AUD and SGD batches for good: their records stay unbilled until
    the batch is fixed and replayed, which needs action (discrepancy), while the records of
    the batches it accepted are matched or wait in the normal course."""
    with duckdb.connect(str(billed_home / "warehouse.duckdb"), read_only=True) as con:
        frozen = dict(
            con.execute(
                "SELECT c.correlation_id, o.status FROM ops.erp_outbox_correlations c "
                "JOIN ops.erp_outbox o USING (batch_key)"
            ).fetchall()
        )
        outcome = {
            correlation_id: (reason, status)
            for correlation_id, reason, status in con.execute(
                "SELECT correlation_id, difference_reason, reconciliation_status "
                "FROM marts.reconciliation_records WHERE batch_key IS NOT NULL"
            ).fetchall()
        }
    dead = {c for c, status in frozen.items() if status == "dead_letter"}
    assert dead and set(frozen) - dead
    assert {outcome[c] for c in dead} == {("billing_batch_dead_letter", "discrepancy")}
    assert not any(outcome[c][0] == "billing_batch_dead_letter" for c in set(frozen) - dead)


# --- trace --------------------------------------------------------------------------------


def trace(needle: str) -> AppTest:
    app = open_page("views/trace.py")
    app.text_input(key="trace_needle").input(needle).run()
    assert not app.exception, app.exception
    return app


def test_trace_keeps_the_record_in_the_url(sample_home, at_home):
    """A link or a reload with ``?record=`` shows that record; typing one puts it there."""
    at_home(sample_home)
    first, second = (
        source_id
        for (source_id,) in snapshot_sql(
            sample_home,
            "SELECT source_id FROM marts.fct_time_entries WHERE source_system = 'harvest' "
            "ORDER BY source_id LIMIT 2",
        )
    )
    app = open_page("views/trace.py", record=first)
    assert app.text_input(key="trace_needle").value == first
    assert frame(app, "trace_record").set_index("field")["value"]["source_id"] == first
    app.text_input(key="trace_needle").input(second).run()
    assert app.query_params["record"] == second


def test_trace_shows_an_invoiced_time_entry_from_submission_to_payment(sample_home, at_home):
    at_home(sample_home)
    source_id, invoice_number, correlation_id = snapshot_sql(
        sample_home,
        "SELECT t.source_id, i.invoice_number, t.correlation_id FROM marts.fct_time_entries t "
        "JOIN marts.fct_invoices i USING (invoice_id) WHERE t.is_paid AND t.source_system = "
        "'harvest' ORDER BY t.work_date, t.source_id LIMIT 1",
    )[0]
    app = trace(source_id)
    events = frame(app, "trace_events")["event_type"].tolist()
    expected = [
        e
        for (e,) in snapshot_sql(
            sample_home,
            "SELECT event_type FROM marts.fct_lifecycle_events WHERE correlation_id = ?",
            [correlation_id],
        )
    ]
    assert sorted(events) == sorted(expected)
    order = {e: events.index(e) for e in ("submitted", "approved", "invoiced", "posted", "paid")}
    assert order["submitted"] < order["approved"] < order["invoiced"] < order["posted"]
    assert order["posted"] < order["paid"]
    lines = frame(app, "trace_invoice_lines")
    assert lines["invoice_number"].tolist() == [invoice_number]
    record = frame(app, "trace_record").set_index("field")["value"]
    assert record["correlation_id"] == correlation_id
    timeline = chart(app, "trace_timeline_chart")["data"][0]
    assert timeline["y"] == events


def test_trace_follows_a_written_back_entry_through_its_outbox_batch(billed_home, at_home):
    at_home(billed_home)
    source_id, batch_key = snapshot_sql(
        billed_home,
        "SELECT t.source_id, t.batch_key FROM marts.fct_time_entries t "
        "JOIN marts.fct_invoices i USING (invoice_id) "
        "WHERE i.invoice_origin = 'write_back' AND t.is_invoiced "
        "ORDER BY t.source_id LIMIT 1",
    )[0]
    app = trace(source_id)
    events = frame(app, "trace_events")
    kinds = events["event_type"].tolist()
    for stage in ("submitted", "approved", "batched", "frozen", "sent", "invoiced", "posted"):
        assert stage in kinds
    assert kinds.index("approved") < kinds.index("batched") < kinds.index("sent")
    assert kinds.index("sent") < kinds.index("invoiced") < kinds.index("posted")
    batch = frame(app, "trace_batch").set_index("field")["value"]
    assert batch["batch_key"] == batch_key and batch["status"] == "reconciled"
    assert frame(app, "trace_invoice_lines")["batch_key"].tolist() == [batch_key]


def test_trace_finds_an_invoice_a_report_and_nothing_for_sql(sample_home, at_home):
    at_home(sample_home)
    number, lines = snapshot_sql(
        sample_home,
        "SELECT i.invoice_number, count(*) FROM marts.fct_invoices i "
        "JOIN marts.fct_invoice_lines l USING (invoice_id) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )[0]
    app = trace(number.lower())  # invoice numbers match whatever the case
    assert len(frame(app, "trace_invoice_lines")) == lines
    assert "invoiced" in frame(app, "trace_events")["event_type"].tolist()

    report, entries = snapshot_sql(
        sample_home,
        "SELECT report_id, count(*) FROM marts.fct_expenses GROUP BY 1 HAVING count(*) > 1 "
        "ORDER BY 2 DESC, 1 LIMIT 1",
    )[0]
    app = trace(report)
    assert len(app.selectbox(key="trace_choice").options) == entries

    app = trace("' OR 1=1 --")
    assert "Nothing matches" in app.info[0].value


# --- utilization and margin ---------------------------------------------------------------


def test_utilization_page_by_practice_region_and_person(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/utilization.py")
    shown = tiles(app)
    capacity, billable, people = snapshot_sql(
        sample_home,
        "SELECT sum(capacity_hours), sum(billable_hours), count(DISTINCT employee_id) "
        "FROM marts.utilization_monthly",
    )[0]
    assert shown["Capacity hours"][0] == fmt.hours(capacity)
    assert shown["Utilization"][0] == fmt.share(billable / capacity)
    revenue = one(
        sample_home,
        "SELECT sum(recognized_revenue_reporting) FROM marts.project_financials_monthly",
    )
    assert shown["Recognized revenue (USD)"][0] == fmt.money(revenue)
    assert len(frame(app, "utilization_by_person")) == people
    practices = frame(app, "practice_utilization_margin").set_index("practice")
    for practice, cap, util in snapshot_sql(
        sample_home,
        "SELECT practice, sum(capacity_hours), sum(billable_hours) / sum(capacity_hours) "
        "FROM marts.utilization_monthly GROUP BY 1",
    ):
        assert practices.loc[practice, "capacity_hours"] == pytest.approx(float(cap))
        assert practices.loc[practice, "utilization"] == pytest.approx(util)
    regions = frame(app, "region_utilization_margin").set_index("region")
    # beside the workers' regions, a retainer's fee recognized in a month without work
    assert set(regions.index) == {"(no work)"} | {
        r
        for (r,) in snapshot_sql(
            sample_home, "SELECT DISTINCT region FROM marts.utilization_monthly"
        )
    }
    no_work = regions.loc["(no work)"]
    assert no_work["recognized_revenue"] > 0 and no_work["total_cost"] == 0


def test_utilization_page_honours_practice_and_period(sample_home, at_home):
    at_home(sample_home)
    practice = one(sample_home, "SELECT max(practice) FROM marts.dim_resources")
    app = open_page(
        "views/utilization.py", practice=[practice], period_from="2025-01", period_to="2025-03"
    )
    capacity, billable = snapshot_sql(
        sample_home,
        "SELECT sum(capacity_hours), sum(billable_hours) FROM marts.utilization_monthly "
        "WHERE practice = ? AND month_start_date BETWEEN DATE '2025-01-01' AND DATE '2025-03-01'",
        [practice],
    )[0]
    shown = tiles(app)
    assert shown["Capacity hours"][0] == fmt.hours(capacity)
    assert shown["Billable hours"][0] == fmt.hours(billable)
    assert set(frame(app, "utilization_by_person")["practice"]) == {practice}


# --- data health --------------------------------------------------------------------------


def test_data_health_on_the_sample_firm(sample_home, at_home):
    at_home(sample_home)
    app = open_page("views/data_health.py")
    rows, files = snapshot_sql(
        sample_home,
        "SELECT sum(rows_rejected), sum(files_rejected) FROM marts.pipeline_health_sources",
    )[0]
    shown = tiles(app)
    assert shown["Rows rejected"][0] == f"{rows:,}"
    assert shown["Files rejected"][0] == str(files)
