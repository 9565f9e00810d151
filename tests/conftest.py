from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from d2b.settings import Settings
from ingest.generator import GenerationResult, generate
from tests.harvest_pages import Entry, write_page
from tests.pipeline_runs import PipelineRun, TinyRun, run_d2b_on_tiny_landing, run_pipeline
from tests.support.erp_templates import ERP_TEMPLATES

#: Fixtures whose firm is built once per session: under ``pytest -n`` (``make test``) every test
#: using one runs on the same worker, so the firm is built once, not once per worker.
_SAMPLE_FIRM_FIXTURES = {"sample", "sample_run", "sample_home", "billed_home", "scale_02_run"}
#: The one ``d2b run`` on a tiny landing (tests/pipeline_runs.py): its readers share a worker.
_TINY_RUN_FIXTURES = {"tiny_run"}
#: Fixtures of tests that build a warehouse (or run dbt): their groups are handed out first.
_BUILDING_FIXTURES = {*_SAMPLE_FIRM_FIXTURES, *_TINY_RUN_FIXTURES, "dbt_manifest", "published_home"}


def _uses(item: pytest.Item, fixtures: set[str]) -> bool:
    return bool(fixtures & set(getattr(item, "fixturenames", ())))


def pytest_configure(config: pytest.Config) -> None:
    """Under ``--dist loadgroup`` xdist hands the groups out in collection order (see below),
    not sorted by their number of tests, which left a one-test whole-graph module for last."""
    if getattr(config.option, "dist", "no") == "loadgroup":
        config.option.loadscopereorder = False
    # Every home bills into an embedded ERP copied from one cached template per configuration.
    os.environ.setdefault("D2B_ERP_TEMPLATE_DIR", str(ERP_TEMPLATES))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Group tests for ``--dist loadgroup``: the sample firm's users together, the tiny run's
    together, else by module (a module's fixtures are built once).

    Under xdist the selected tests' groups are then ordered for the two workers to finish
    together: those with a ``long`` test first (one test of ten minutes or more, in the slow
    lane), then the sample firm's (the longest), then the groups that build a warehouse, each
    tier by number of tests; a worker takes the next group when it runs short.
    """
    group_of: dict[pytest.Item, str] = {}
    for item in items:  # before xdist reads the markers
        if _uses(item, _SAMPLE_FIRM_FIXTURES):
            group = "sample_firm"
        elif _uses(item, _TINY_RUN_FIXTURES):
            group = "tiny_run"
        else:
            group = item.module.__name__
        item.add_marker(pytest.mark.xdist_group(group))
        group_of[item] = group
    yield  # the other hooks, deselection (-m) among them
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: the collection order stays
    for item in items:
        _tag_with_group(item, group_of[item])
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        groups.setdefault(group_of[item], []).append(item)

    def cost(group: str) -> tuple[bool, bool, bool, int]:
        long = any(item.get_closest_marker("long") for item in groups[group])
        builds = any(_uses(item, _BUILDING_FIXTURES) for item in groups[group])
        return (not long, group != "sample_firm", not builds, -len(groups[group]))

    items[:] = [item for group in sorted(groups, key=cost) for item in groups[group]]


def _tag_with_group(item: pytest.Item, group: str) -> None:
    """Give ``item`` the ``<nodeid>@<group>`` id by which xdist's loadgroup scheduler groups.

    pytest-xdist 3.8 appends the suffix by assigning ``item._nodeid``; pytest 9.2 keeps the id
    in ``item._id`` (a ``NodeId``), so the assignment is lost and every test became its own
    group: module and session fixtures were built on both workers (the sample firm twice).
    """
    if str(item.nodeid).endswith(f"@{group}"):
        return  # xdist's own tagging took effect
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{item.nodeid}@{group}")


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
def tiny_run(tmp_path_factory) -> TinyRun:
    """One ``d2b run`` (as of 2026-06-30) on :func:`tests.pipeline_runs.write_tiny_landing`,
    shared by the tests that only read its output and home."""
    return run_d2b_on_tiny_landing(tmp_path_factory.mktemp("tiny_home"))
