"""The whole graph materialized in-process, on data the test writes, with known answers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ingest.warehouse import connect
from tests.harvest_pages import Entry, write_page
from tests.support.sample_config import write_sample_config

AS_OF = date(2026, 6, 30)


def approved(id_, project, hours, approved_on, billable=True, **fields):
    when = datetime.combine(approved_on, datetime.min.time()).replace(hour=10)
    return Entry(
        id=id_,
        spent_date=date(2026, 1, 5),
        hours=hours,
        project_id=project,
        billable=billable,
        submitted_at=when.replace(hour=8),
        approved_at=when,
        **fields,
    )


@pytest.fixture
def landing(d2b_home):
    landing = d2b_home.landing
    write_page(
        landing,
        "time_entries_updated_2026-05-29_page_0001.json",
        [
            # first seen submitted; approved in the next export (latest version wins)
            Entry(
                id=7,
                spent_date=date(2026, 5, 28),
                hours=3,
                project_id=502,
                approval_status="submitted",
                submitted_at=datetime(2026, 5, 29, 8),
            ),
        ],
    )
    write_page(
        landing,
        "time_entries_updated_2026-07-03_page_0001.json",
        [
            approved(1, 501, 8, date(2026, 6, 20)),  # 10 days: 0-30
            approved(2, 501, 4, date(2026, 4, 15)),  # 76 days: 61-90
            approved(3, 501, 6, date(2026, 6, 20), billable=False),  # not billable
            Entry(
                id=4,
                spent_date=date(2026, 6, 29),
                hours=5,
                project_id=501,
                approval_status="submitted",
                submitted_at=datetime(2026, 6, 29, 17),
            ),
            approved(5, 501, 7, date(2026, 7, 2)),  # approved after the as-of date
            approved(6, 502, 2.5, date(2026, 1, 10)),  # 171 days: > 120
            approved(7, 502, 3, date(2026, 6, 1)),  # 29 days: 0-30
            {**approved(8, 502, 1, date(2026, 6, 1)).as_json(), "hours": "x"},  # quarantined
        ],
    )
    write_sample_config(landing)  # a complete configuration: every check passes
    return landing


def test_full_graph_materializes_and_the_mart_has_the_expected_figures(
    landing, d2b_home, dbt_manifest
):
    from dagster_project.definitions import ALL_ASSETS_JOB, defs
    from dagster_project.defs.dbt_models import as_of_run_config

    job = defs().resolve_job_def(ALL_ASSETS_JOB)
    result = job.execute_in_process(run_config=as_of_run_config(AS_OF))

    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks, "dbt tests should surface as asset checks"
    assert all(check.passed for check in checks), [c.check_name for c in checks if not c.passed]

    with connect(d2b_home.warehouse, read_only=True) as con:
        mart = con.execute(
            "SELECT project_source_id, as_of_date, time_entry_count, unbilled_approved_hours, "
            "hours_aged_0_30, hours_aged_61_90, hours_aged_over_120 "
            "FROM marts.unbilled_approved_hours ORDER BY project_source_id"
        ).fetchall()
        fct = con.execute(
            "SELECT count(*), count(DISTINCT correlation_id) FROM marts.fct_time_entries"
        ).fetchone()
        quarantined = con.execute("SELECT count(*) FROM quarantine.rejected_rows").fetchone()[0]
        source_health = con.execute(
            "SELECT files_loaded, files_rejected, rows_loaded, rows_rejected, last_file "
            "FROM marts.pipeline_health_sources WHERE source_system = 'harvest'"
        ).fetchone()
        raw_health = con.execute(
            "SELECT freshness_status, rows_rejected, checks_total, checks_failed, row_count "
            "FROM marts.pipeline_health_assets WHERE asset_key = 'raw/harvest__time_entries'"
        ).fetchone()
        runs = con.execute(
            "SELECT run_id FROM marts.pipeline_health_runs WHERE job_name = ?", [ALL_ASSETS_JOB]
        ).fetchall()

    assert mart == [
        ("501", AS_OF, 2, Decimal("12.0000"), Decimal("8.0000"), Decimal("4.0000"), Decimal("0")),
        ("502", AS_OF, 2, Decimal("5.5000"), Decimal("3.0000"), Decimal("0"), Decimal("2.5000")),
    ]
    assert fct == (7, 7)  # 8 entries written, one quarantined; entry 7 counted once
    assert quarantined == 1
    assert source_health == (
        2,
        0,
        8,
        1,
        "harvest/time_entries/time_entries_updated_2026-07-03_page_0001.json",
    )
    # ingest materialized (and checked) the raw table earlier in this same run
    assert raw_health == ("fresh", 1, 2, 0, 8)
    assert runs == [(result.run_id,)]


# two whole-pipeline runs: in the slow step of CI, keeping the default suite short
@pytest.mark.slow
def test_rerunning_the_job_changes_nothing(landing, d2b_home, dbt_manifest):
    from dagster_project.definitions import ALL_ASSETS_JOB, defs
    from dagster_project.defs.dbt_models import as_of_run_config

    job = defs().resolve_job_def(ALL_ASSETS_JOB)
    config = as_of_run_config(AS_OF)

    def snapshot():
        with connect(d2b_home.warehouse, read_only=True) as con:
            return (
                con.execute("SELECT count(*) FROM raw.harvest__time_entries").fetchone(),
                con.execute(
                    "SELECT * FROM marts.unbilled_approved_hours ORDER BY project_source_id"
                ).fetchall(),
            )

    assert job.execute_in_process(run_config=config).success
    first = snapshot()
    assert job.execute_in_process(run_config=config).success
    assert snapshot() == first
