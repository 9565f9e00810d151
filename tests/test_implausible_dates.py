"""One mistyped date never corrupts figures (issue 21): the sample firm plus one approved
Harvest entry dated 2001-10-19 (a year typed wrong) builds marts equal to the clean run's,
and the entry is an `implausible_date` exception for the delivery team, with its hours.

Before the history window, that one entry moved the calendar spine (int_dates_spined) to
2001: capacity and labour cost were 0 for every real month and WIP had no value.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.generator import GenerationResult
from tests.conftest import SAMPLE_AS_OF
from tests.pipeline_runs import PipelineRun, dbt_check_failures, query, run_pipeline
from tests.test_as_of import mart_fingerprints

#: Two whole-pipeline builds of the sample firm: the slow step of CI runs them.
pytestmark = pytest.mark.slow

TYPO_ID = 2499999999
TYPO_DATE = "2001-10-19"


def land_year_typo(landing: Path) -> dict:
    """Land a copy of the sample's first approved billable entry of its last Harvest page,
    with a new id and the year typed wrong, as one more page; return the entry."""
    pages = sorted((landing / "harvest" / "time_entries").glob("*.json"))
    last = json.loads(pages[-1].read_text())
    original = next(
        e for e in last["time_entries"] if e["approval_status"] == "approved" and e["billable"]
    )
    typo = {**original, "id": TYPO_ID, "spent_date": TYPO_DATE}
    # no `links`: an export window would retire the entries it does not list
    page = {key: value for key, value in last.items() if key != "links"}
    page.update(time_entries=[typo], total_entries=1)
    (pages[-1].parent / "time_entries_year_typo_page_0001.json").write_text(json.dumps(page))
    return typo


@pytest.fixture(scope="module")
def typo_run(sample: GenerationResult, tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The sample firm plus the year-typo entry, through every asset as of its as-of date."""
    home = tmp_path_factory.mktemp("year_typo_home")
    landing = home / "landing"
    shutil.copytree(sample.out_dir, landing)
    land_year_typo(landing)
    yield from run_pipeline(landing, Path(sample.truth_dir), home, SAMPLE_AS_OF)


def test_the_year_typo_is_an_exception_with_its_hours(typo_run):
    rows = query(
        typo_run.warehouse,
        "SELECT reason, owner_team, record_date, hours FROM marts.billing_exceptions "
        "WHERE source_system = 'harvest' AND source_id = ?",
        [str(TYPO_ID)],
    )
    assert [(reason, owner, day) for reason, owner, day, _ in rows] == [
        ("implausible_date", "delivery", None)
    ]
    assert rows[0][3] > 0
    held = query(
        typo_run.warehouse,
        "SELECT count(*) FROM marts.fct_time_entries WHERE source_id = ?",
        [str(TYPO_ID)],
    )
    assert held == [(0,)]


def test_every_other_figure_equals_the_clean_run(typo_run, sample_run):
    typo, clean = mart_fingerprints(typo_run.warehouse), mart_fingerprints(sample_run.warehouse)
    exceptions = "billing_exceptions"
    assert {t: f for t, f in typo.items() if t != exceptions} == {
        t: f for t, f in clean.items() if t != exceptions
    }
    assert typo[exceptions][0] == clean[exceptions][0] + 1
    spine = "SELECT min(calendar_date), max(calendar_date) FROM marts.dim_calendar"
    assert query(typo_run.warehouse, spine) == query(sample_run.warehouse, spine)


def test_the_year_typo_fails_no_check_the_clean_run_passes(typo_run, sample_run):
    assert dbt_check_failures(typo_run) == dbt_check_failures(sample_run)
