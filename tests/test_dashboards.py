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
