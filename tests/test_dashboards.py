"""The dashboard app's shell with Streamlit's AppTest, and the pure pieces the pages share.

Page figures on the sample firm: tests/test_dashboard_pages.py.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import data
from dashboards import format as fmt
from dashboards.filters import (
    Filters,
    Window,
    kpi_windows,
    last_complete_month,
    month_end,
    open_months,
    shift_period,
)

APP = str(Path(__file__).parent.parent / "dashboards" / "app.py")


def run_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    return app


def test_data_health_shows_rejections_sources_and_runs(published_home):
    app = run_page("views/data_health.py")

    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Rows rejected"] == "1"
    assert metrics["Files rejected"] == "1"
    assert metrics["Failing checks"] == "0"
    sources = app.dataframe[0].value
    harvest = sources[sources["source_system"] == "harvest"].iloc[0]
    assert (harvest["files_loaded"], harvest["rows_loaded"], harvest["rows_rejected"]) == (1, 3, 1)
    assert harvest["file_reject_reasons"] == "unparseable"
    reasons = app.dataframe[1].value
    assert reasons[["reason", "rows"]].values.tolist() == [["invalid_type", 1]]


def test_sidebar_names_the_snapshot_shown(published_home):
    from serving.snapshot import current

    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    version = current(published_home / "serving").version
    assert f"Snapshot {version}" in app.sidebar.caption[0].value


def test_pages_explain_when_nothing_is_published(tmp_path, monkeypatch):
    monkeypatch.setenv("D2B_HOME", str(tmp_path))
    app = run_page("views/data_health.py")
    assert "No data published yet" in app.info[0].value


def test_filters_come_from_the_url_and_go_back_into_it(tmp_path, monkeypatch):
    from ingest.warehouse import connect
    from serving.snapshot import publish

    monkeypatch.setenv("D2B_HOME", str(tmp_path))
    with connect(tmp_path / "warehouse.duckdb") as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.dim_resources AS SELECT * FROM (VALUES "
            "('EU', 'Technology'), ('NA', 'Strategy'), ('EU', 'Strategy')) t(region, practice)"
        )
        con.execute(
            "CREATE TABLE marts.dim_legal_entities AS SELECT * FROM (VALUES ('DE01'), ('US01')) "
            "t(legal_entity)"
        )
        con.execute(
            "CREATE TABLE marts.dim_clients AS SELECT * FROM (VALUES ('Acme'), ('Globex')) "
            "t(client_name)"
        )
        publish(con, tmp_path / "serving")

    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["region"] = ["EU"]
    app.query_params["currency"] = "contract"
    app.query_params["legal_entity"] = ["XX99"]  # unknown: dropped, not an error
    app.run()
    assert not app.exception, app.exception
    # the default page (executive overview) names the marts it lacks: a clear empty state
    assert "marts.unbilled_approved_hours" in app.info[0].value

    selects = {m.label: m for m in app.sidebar.multiselect}
    assert selects["Region"].options == ["EU", "NA"]
    assert selects["Region"].value == ["EU"]
    assert selects["Legal entity"].value == []
    assert selects["Client"].options == ["Acme", "Globex"]
    assert app.sidebar.radio[0].value == "contract"

    selects["Practice"].set_value(["Technology"]).run()

    url = {k: v if isinstance(v, list) else [v] for k, v in app.query_params.items()}
    assert url == {"practice": ["Technology"], "region": ["EU"], "currency": ["contract"]}


def test_no_period_filter_without_a_calendar_and_a_period_from_the_url(tmp_path, monkeypatch):
    from ingest.warehouse import connect
    from serving.snapshot import publish

    monkeypatch.setenv("D2B_HOME", str(tmp_path))
    with connect(tmp_path / "warehouse.duckdb") as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.dim_calendar AS SELECT DATE '2025-01-01' + INTERVAL (i) MONTH "
            "AS month_start_date FROM range(6) t(i)"
        )
        con.execute(
            "CREATE TABLE marts.lag_summary AS SELECT 'invoice_release' AS lag_kind, "
            "DATE '2025-04-30' AS as_of_date"
        )
        publish(con, tmp_path / "serving")

    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["period_from"] = "2025-02"
    app.query_params["period_to"] = "2025-13"  # malformed: ignored
    app.run()
    assert not app.exception, app.exception
    boxes = {b.label: b for b in app.sidebar.selectbox}
    # months up to the snapshot's as-of date only
    assert boxes["From"].options == ["all months", "2025-01", "2025-02", "2025-03", "2025-04"]
    assert boxes["From"].value == "2025-02" and boxes["To"].value is None
    assert app.sidebar.date_input[0].value == date(2025, 4, 30)
    assert dict(app.query_params) == {"period_from": "2025-02"}  # the as-of default stays out


def test_filters_pass_the_period_as_dates():
    params = Filters(period_from="2024-11", period_to="2025-02", region=("EU",)).params()
    assert params["period_start"] == date(2024, 11, 1)
    assert params["period_end"] == date(2025, 2, 28)
    assert params["region"] == ["EU"] and params["client"] == []
    assert Filters().params()["period_start"] is None
    assert month_end("2024-02") == date(2024, 2, 29) and month_end("2024-12") == date(2024, 12, 31)
    assert shift_period("2025-01", -1) == "2024-12" and shift_period("2024-11", 14) == "2026-01"


@pytest.mark.parametrize(
    ("period_from", "period_to", "window", "previous"),
    [
        (None, None, ("2025-04-01", "2025-06-30"), ("2025-01-01", "2025-03-31")),
        (None, "2025-02", ("2024-12-01", "2025-02-28"), ("2024-09-01", "2024-11-30")),
        ("2025-05", "2025-06", ("2025-05-01", "2025-06-30"), ("2025-03-01", "2025-04-30")),
        ("2025-06", None, ("2025-06-01", "2025-06-30"), ("2025-05-01", "2025-05-31")),
    ],
)
def test_kpi_windows_compare_with_as_many_months_before(period_from, period_to, window, previous):
    now, before = kpi_windows(Filters(period_from=period_from, period_to=period_to), "2025-06")
    assert (now.start.isoformat(), now.end.isoformat()) == window
    assert (before.start.isoformat(), before.end.isoformat()) == previous
    assert now.months == before.months


def invoice_periods(*rows: tuple[str, str, bool]) -> pd.DataFrame:
    """Billing periods as query ``exec_invoiced_periods`` returns them."""
    return pd.DataFrame(
        [(date.fromisoformat(a), date.fromisoformat(b), released) for a, b, released in rows],
        columns=["period_start", "period_end", "all_released"],
    )


MONTHLY = invoice_periods(
    ("2025-03-01", "2025-03-31", True),
    ("2025-04-01", "2025-04-30", True),
    ("2025-05-01", "2025-05-31", False),  # two of May's invoices are still drafts
)


@pytest.mark.parametrize(
    ("as_of", "periods", "complete"),
    [
        # monthly invoicing: May has ended but its invoicing is not out; June has no invoice
        (date(2025, 6, 30), MONTHLY, "2025-04"),
        # a released period counts only once the month has ended by the as-of date
        (date(2025, 4, 29), MONTHLY, "2025-03"),
        (date(2025, 4, 30), MONTHLY, "2025-04"),
        # a draft left in March does not reopen April, whose invoicing is out
        (
            date(2025, 5, 15),
            invoice_periods(
                ("2025-03-01", "2025-03-31", False), ("2025-04-01", "2025-04-30", True)
            ),
            "2025-04",
        ),
        # monthly invoicing with nothing released: no month is complete
        (date(2025, 6, 30), invoice_periods(("2025-05-01", "2025-05-31", False)), None),
        # no monthly invoicing (a quarter billed at once, or no invoices): ended months
        (date(2025, 6, 30), invoice_periods(("2025-01-01", "2025-03-31", True)), "2025-06"),
        (date(2025, 6, 29), invoice_periods(), "2025-05"),
    ],
)
def test_a_month_is_complete_once_ended_and_invoiced(as_of, periods, complete):
    assert last_complete_month(as_of, periods) == complete


def test_open_months_are_the_window_after_the_last_complete_month():
    window = Window(date(2025, 4, 1), date(2025, 6, 30))
    assert open_months(window, "2025-06") is None
    assert open_months(window, "2025-04") == Window(date(2025, 5, 1), date(2025, 6, 30))
    assert open_months(window, "2025-01") == window
    assert open_months(window, None) == window
    # the default KPI window ends at the last complete month: nothing in it is open
    now, _ = kpi_windows(Filters(), "2025-04")
    assert open_months(now, "2025-04") is None and now.label() == "Feb 2025 – Apr 2025"


def test_queries_bind_only_the_parameters_their_sql_names():
    assert data.query_parameters("lag_stats") == {
        "lag_kind",
        "legal_entity",
        "region",
        "client",
        "window_start",
        "window_end",
    }
    bound = dict(data.bind("exec_wip", Filters(client=("Acme",)).params()))
    assert set(bound) == {"legal_entity", "region", "client", "currency"}
    assert bound["client"] == ("Acme",)  # hashable for the cache, a list again when run
    with pytest.raises(KeyError, match="needle"):
        data.bind("trace_find", {})
    # every query file names its parameters with $name and never formats text into SQL
    for path in [*data.QUERY_DIR.glob("*.sql"), *data.QUERY_DIR.glob("fragments/*.sql")]:
        text = path.read_text()
        assert not re.search(r"\{[A-Za-z_]\w*\}|%s|\?", text), path.name
    # a shared fragment is spliced in whole: its parameters are the query's
    summary = data.query_text("recon_summary")
    assert "--@include" not in summary and "list_contains($region, e.region)" in summary
    assert {"legal_entity", "region", "client", "practice", "period_start"} <= (
        data.query_parameters("recon_summary") & data.query_parameters("recon_records")
    )


def test_unapplied_filters_name_what_a_figure_ignores():
    from dashboards.ui import unapplied_filters

    chosen = Filters(practice=("Strategy",), client=("Acme",), period_from="2025-01")
    assert unapplied_filters(chosen, ["exec_wip"]) == ["practice", "period"]
    assert unapplied_filters(chosen, ["exec_wip"], sliced=["period"]) == ["practice"]
    assert unapplied_filters(chosen, ["utilization", "financials"], sliced=["period"]) == ["client"]
    assert unapplied_filters(Filters(), ["exec_wip"]) == []


def test_formats():
    assert fmt.money(1234567.891) == "1,234,568" and fmt.money(-5, "EUR") == "EUR -5"
    assert fmt.money_delta(-312331.2) == "-312,331" and fmt.money_delta(None) is None
    assert fmt.hours(11024.75) == "11,024.75" and fmt.hours_delta(0) == "+0.00 h"
    assert fmt.share(0.6358) == "63.6%" and fmt.share_delta(-0.254) == "-25.4 pp"
    assert fmt.share(float("nan")) == fmt.MISSING and fmt.ratio(1, 0) is None
    assert fmt.days(5) == "5.0" and fmt.difference(3, None) is None


@pytest.mark.parametrize("share", [0.0, 0.1, 0.5, 0.9, 0.95, 1.0])
def test_quantiles_from_a_histogram_equal_quantiles_of_the_values(share):
    import duckdb
    import pandas as pd

    from dashboards.lags import quantile_cont

    values = pd.Series([0, 1, 2, 3, 5, 8, 13])
    counts = pd.Series([40, 25, 12, 9, 7, 4, 3])
    expanded = [v for v, n in zip(values, counts, strict=True) for _ in range(n)]
    (expected,) = duckdb.execute(
        "SELECT quantile_cont(v, ?) FROM unnest(?) t(v)", [share, expanded]
    ).fetchone()
    assert quantile_cont(
        values.sample(frac=1, random_state=1), counts.sample(frac=1, random_state=1), share
    ) == pytest.approx(expected)


def test_data_health_names_the_rejected_file_the_check_and_what_was_held(tiny_run, monkeypatch):
    home, result = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    monkeypatch.setenv("D2B_HOME", str(home))
    for name in ("D2B_LANDING", "D2B_WAREHOUSE", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    app = run_page("views/data_health.py")

    metrics = {m.label: m.value for m in app.metric}
    # the landing holds no config/: the completeness warning of this very build shows too
    assert (metrics["Warning checks"], metrics["Failing checks"]) == ("2", "0")
    assert (metrics["Files rejected"], metrics["Records held"]) == ("1", "2")
    files = _table(app, "health_rejected_files")
    assert [Path(name).name for name in files["source_file"]] == ["broken.json"]
    assert files["reason"].tolist() == ["unparseable"]
    held = _table(app, "health_held_exceptions")
    assert held[["owner_team", "reason", "records"]].values.tolist() == [
        ["delivery", "future_dated", 2]
    ]
    checks = _table(app, "health_checks")
    assert checks[["check_outcome", "asset_key", "check_name"]].values.tolist() == [
        ["warning", "raw/harvest__time_entries", "schema_drift"],
        ["warning", "staging/stg_config__legal_entities", "assert_firm_configuration_is_complete"],
    ]


def _table(app: AppTest, name: str):
    """The table ``name`` (``dashboards.ui.table``) as a DataFrame."""
    return app.get_by_key(f"table_{name}").dataframe[0].value


def test_search_text_shows_as_itself_never_as_markdown(published_home):
    needle = "[win](https://evil.example) ![pixel](https://evil.example/p.png) **now** :red[x]"
    app = run_page("views/trace.py")
    app.text_input(key="trace_needle").input(needle).run()

    shown = app.info[0].value
    assert shown == f"Nothing matches {fmt.plain(needle)}."
    # Markdown renders a backslash-escaped character as itself: no link, image, bold or colour.
    assert re.sub(r"\\(.)", r"\1", shown) == f"Nothing matches {needle}."
    assert not re.search(r"(?<!\\)[\[\]()*:!]", shown.removesuffix("."))


def test_dashboards_show_viewers_no_tracebacks(monkeypatch, tmp_path):
    from dagster_project import cli

    started = []
    monkeypatch.setattr(cli.os, "execv", lambda path, command: started.append(command))
    monkeypatch.setenv("D2B_HOME", str(tmp_path))
    cli.main(["dashboard"])

    (command,) = started
    options = dict(zip(command[3::2], command[4::2], strict=True))
    assert options["--client.showErrorDetails"] == "none"
    assert options["--server.address"] == "127.0.0.1"


def test_column_labels_are_words_with_initialisms_and_the_currency_of_amounts():
    from dashboards.ui import _column_labels, column_label

    assert column_label("client_name") == "Client name"
    assert column_label("wip_value") == "WIP value"
    assert column_label("sla_breach_count") == "SLA breach count"
    assert column_label("psa_hours") == "PSA hours"
    assert column_label("unbilled_value", "USD") == "Unbilled value (USD)"
    assert column_label("leakage_amount", "EUR") == "Leakage amount (EUR)"
    assert column_label("margin_share", "USD") == "Margin share"  # a ratio, not money
    assert column_label("unbilled_hours", "USD") == "Unbilled hours"
    frame = pd.DataFrame({"client_name": ["A"], "currency": ["USD"], "revenue": [1.5]})
    labels = _column_labels(frame, {"revenue": {"type_config": {"format": "localized"}}})
    assert labels["client_name"] == "Client name" and labels["currency"] == "Currency"
    assert labels["revenue"] == {"type_config": {"format": "localized"}, "label": "Revenue (USD)"}
    # several currencies: the table's currency column says which
    two = pd.concat([frame, frame.assign(currency="EUR")])
    assert _column_labels(two, {})["revenue"] == "Revenue"
    # a page's own label is kept
    assert _column_labels(frame, {"client_name": "Client"})["client_name"] == "Client"


def test_a_table_shows_a_dash_for_missing_text_never_none():
    from dashboards.ui import shown

    frame = pd.DataFrame({"reason": ["late", None], "hours": [1.0, 2.0]})
    assert shown(frame)["reason"].tolist() == ["late", fmt.MISSING]
    assert shown(frame)["hours"].tolist() == [1.0, 2.0]
    assert frame["reason"].isna().sum() == 1  # the frame downloaded as CSV is unchanged


def test_a_chart_writes_codes_as_words_and_leaves_the_frame_alone():
    from dashboards.ui import in_words

    frame = pd.DataFrame({"reason": ["skipped_by_invoice", None], "records": [3, 4]})
    assert in_words(frame, "reason")["reason"].tolist() == ["skipped by invoice", pd.NA]
    assert frame["reason"].iloc[0] == "skipped_by_invoice"  # the table's codes are unchanged
