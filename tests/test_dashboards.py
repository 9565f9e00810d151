"""Dashboard pages, run with Streamlit's AppTest on a published snapshot of a real run."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.harvest_pages import Entry, write_page

APP = str(Path(__file__).parent.parent / "dashboards" / "app.py")


@pytest.fixture(scope="module")
def published_home(tmp_path_factory, dbt_manifest):
    """A D2B_HOME after one full pipeline run (snapshot published)."""
    home = tmp_path_factory.mktemp("dash_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("D2B_HOME", str(home))
    for name in ("D2B_LANDING", "D2B_WAREHOUSE", "DAGSTER_HOME"):
        mp.delenv(name, raising=False)
    approved = datetime(2026, 6, 1, 9)
    good = [
        Entry(i, date(2026, 5, 29), 2, submitted_at=approved, approved_at=approved)
        for i in (1, 2, 3)
    ]
    bad = {**Entry(4, date(2026, 5, 29), 1).as_json(), "hours": "n/a"}
    write_page(home / "landing", "p1.json", [*good, bad])
    (home / "landing" / "harvest" / "time_entries" / "broken.json").write_text('{"time_entries": [')

    from dagster_project.definitions import ALL_ASSETS_JOB, defs

    result = (
        defs()
        .resolve_job_def(ALL_ASSETS_JOB)
        .execute_in_process(
            run_config={"ops": {"d2b_dbt_models": {"config": {"as_of_date": "2026-06-30"}}}}
        )
    )
    assert result.success
    yield home
    mp.undo()


def run_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    return app


def test_data_health_shows_rejections_sources_and_runs(published_home):
    app = run_page("pages/data_health.py")

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
    app = run_page("pages/data_health.py")
    assert "No data published yet" in app.info[0].value
