"""Dashboard pages, run with Streamlit's AppTest on a published snapshot of a real run."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

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
    assert "marts.pipeline_health_assets" in app.info[0].value  # a clear empty state

    selects = {m.label: m for m in app.sidebar.multiselect}
    assert selects["Region"].options == ["EU", "NA"]
    assert selects["Region"].value == ["EU"]
    assert selects["Legal entity"].value == []
    assert selects["Client"].options == ["Acme", "Globex"]
    assert app.sidebar.radio[0].value == "contract"

    selects["Practice"].set_value(["Technology"]).run()

    url = {k: v if isinstance(v, list) else [v] for k, v in app.query_params.items()}
    assert url == {"practice": ["Technology"], "region": ["EU"], "currency": ["contract"]}
