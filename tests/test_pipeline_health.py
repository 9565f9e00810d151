"""The Data health marts show the current build's check results (issue 19): the pipeline
history is taken after the dbt build and its tests, so on a finished run of the sample firm
every check the run evaluated shows with its real outcome, and the run is not "started"."""

from __future__ import annotations

from tests.pipeline_runs import query

#: The models built from the pipeline history, after it: their own tests cannot be in it.
HEALTH_MODELS = {
    "marts/pipeline_health_assets",
    "marts/pipeline_health_checks",
    "marts/pipeline_health_runs",
    "staging/stg_ops__dagster_asset_status",
    "staging/stg_ops__dagster_check_status",
    "staging/stg_ops__dagster_runs",
}


def _recorded(run) -> dict[str, tuple[str, str]]:
    """Check name -> (outcome, run id) as marts.pipeline_health_checks records them."""
    rows = query(
        run.warehouse,
        "SELECT asset_key, check_name, check_outcome, run_id FROM marts.pipeline_health_checks",
    )
    return {f"{asset}:{check}": (outcome, run_id) for asset, check, outcome, run_id in rows}


def test_every_check_shows_its_outcome_in_this_run(sample_run):
    recorded = _recorded(sample_run)
    # the run succeeded: a check that did not pass is a warning check that fired
    expected = {
        name: "passed" if passed else "warning"
        for name, passed in sample_run.check_results.items()
        if name.split(":")[0] not in HEALTH_MODELS
    }
    assert {name: outcome for name, (outcome, _) in recorded.items()} == expected
    assert sum(1 for name in expected if not name.startswith("raw/")) > 200  # the dbt tests
    (built,) = query(
        sample_run.warehouse,
        "SELECT run_id FROM marts.pipeline_health_runs WHERE run_status = 'built'",
    )
    assert {run_id for _, run_id in recorded.values()} == set(built)


def test_the_run_that_built_the_marts_is_not_shown_as_started(sample_run):
    statuses = query(sample_run.warehouse, "SELECT run_status FROM marts.pipeline_health_runs")
    assert statuses == [("built",)]
