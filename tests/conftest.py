from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from d2b.settings import Settings
from ingest.generator import GenerationResult, generate
from tests.harvest_pages import Entry, write_page
from tests.pipeline_runs import PipelineRun, run_pipeline

#: Fixtures whose firm is built once per session: under ``pytest -n`` (``make test``) every test
#: using one runs on the same worker, so the firm is built once, not once per worker.
_SAMPLE_FIRM_FIXTURES = {"sample", "sample_run", "sample_home", "billed_home", "scale_02_run"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group tests for ``--dist loadgroup``: the sample firm's users together, else by module
    (a module's fixtures are built once)."""
    for item in items:
        uses_sample = _SAMPLE_FIRM_FIXTURES & set(getattr(item, "fixturenames", ()))
        group = "sample_firm" if uses_sample else item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))


#: The default sample firm of the test suite (scale 0.02, about 100 people).
SAMPLE_AS_OF = date(2025, 6, 30)
SAMPLE_SEED = 42


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    """The default sample (scale 0.02, ~100 people), generated once per session."""
    base = tmp_path_factory.mktemp("sample")
    return generate(base / "landing", seed=SAMPLE_SEED, as_of=SAMPLE_AS_OF, progress=False)


@pytest.fixture(autouse=True)
def dashboards_in_demo_mode(monkeypatch):
    """App tests run as the demo user (everything visible); sign-in: tests/test_access.py."""
    monkeypatch.setenv("D2B_DASHBOARD_DEMO", "true")


@pytest.fixture
def d2b_home(tmp_path, monkeypatch) -> Settings:
    """A fresh D2B_HOME for one test, exported like the CLI exports it."""
    home = tmp_path / "d2b_home"
    monkeypatch.setenv("D2B_HOME", str(home))
    monkeypatch.delenv("D2B_LANDING", raising=False)
    monkeypatch.delenv("D2B_WAREHOUSE", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return Settings.from_env()


@pytest.fixture(scope="session")
def dbt_manifest():
    """dbt's manifest, parsed when missing or older than the project (prepare_if_dev does
    nothing here). Under ``pytest -n`` the workers share ``dbt_project/target``:
    ``prepare_manifest`` lets one parse at a time, so the others find it fresh."""
    from dagster_project.dbt import prepare_manifest

    return prepare_manifest()


@pytest.fixture(scope="module")
def published_home(tmp_path_factory, dbt_manifest):
    """A D2B_HOME after one full pipeline run (snapshot published) on a small written landing.

    Three valid approved entries of 2 hours, one row with non-numeric hours and one
    truncated file, built as of 2026-06-30.
    """
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
    from dagster_project.defs.dbt_models import as_of_run_config

    result = (
        defs()
        .resolve_job_def(ALL_ASSETS_JOB)
        .execute_in_process(run_config=as_of_run_config("2026-06-30"))
    )
    assert result.success
    yield home
    mp.undo()


@pytest.fixture(scope="session")
def sample_run(sample: GenerationResult, tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The default sample through the whole graph as of its as-of date, once per session:
    every mart test module reads this one warehouse (read-only)."""
    home = tmp_path_factory.mktemp("sample_run_home")
    yield from run_pipeline(Path(sample.out_dir), Path(sample.truth_dir), home, SAMPLE_AS_OF)


@pytest.fixture(scope="session")
def scale_02_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """A scale-0.2 firm through the whole graph, once per session (slow suites only)."""
    base = tmp_path_factory.mktemp("scale_02")
    result = generate(
        base / "firm" / "landing", scale=0.2, seed=SAMPLE_SEED, as_of=SAMPLE_AS_OF, progress=False
    )
    yield from run_pipeline(
        Path(result.out_dir), Path(result.truth_dir), base / "home", SAMPLE_AS_OF
    )


@pytest.fixture(scope="session")
def held_run(tmp_path_factory):
    """A D2B_HOME after ``d2b run`` (as of 2026-06-30) on a landing that holds things back.

    Two approved entries of 29 May created on 20 May (two ``future_dated`` exceptions for
    the delivery team), one with a field Harvest's schema does not declare (the
    ``schema_drift`` warning fires), and a truncated file (rejected whole). Returns the home
    and the finished process (its output).
    """
    from tests.support.d2b_cli import run_d2b

    home = tmp_path_factory.mktemp("held_home")
    approved = datetime(2026, 6, 1, 9)
    created_before_the_work = {"created_at": "2026-05-20T09:00:00Z"}
    first, second = (
        {
            **Entry(i, date(2026, 5, 29), 2, submitted_at=approved, approved_at=approved).as_json(),
            **created_before_the_work,
        }
        for i in (1, 2)
    )
    write_page(home / "landing", "p1.json", [{**first, "cost_center": "CC-7"}, second])
    (home / "landing" / "harvest" / "time_entries" / "broken.json").write_text('{"time_entries": [')
    return home, run_d2b("run", "--as-of", "2026-06-30", home=home)
