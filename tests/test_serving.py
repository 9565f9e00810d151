"""Serving snapshots: readers never block the writer and see new versions after the swap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from ingest.warehouse import connect
from serving.snapshot import connect_current, current, publish
from tests.harvest_pages import Entry, write_page


def warehouse_with_mart(path, value):
    con = connect(path)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE OR REPLACE TABLE marts.kpi AS SELECT ? AS value", [value])
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute("CREATE OR REPLACE TABLE staging.not_published AS SELECT 1 AS x")
    return con


def test_publish_copies_published_schemas_and_swaps_the_pointer(tmp_path):
    serving = tmp_path / "serving"
    assert current(serving) is None
    with pytest.raises(FileNotFoundError):
        connect_current(serving)

    with warehouse_with_mart(tmp_path / "w.duckdb", 1) as con:
        first = publish(con, serving)

    reader, snapshot = connect_current(serving)
    with reader:
        assert snapshot.version == first.version
        assert reader.execute("SELECT value FROM marts.kpi").fetchone() == (1,)
        tables = {
            r[0] for r in reader.execute("SELECT schema_name FROM duckdb_tables()").fetchall()
        }
        assert tables == {"marts"}
    assert first.tables == {"marts.kpi": 1}


def test_a_reader_holding_an_old_version_does_not_block_publishing(tmp_path):
    serving = tmp_path / "serving"
    start = datetime(2026, 11, 24, tzinfo=UTC)
    with warehouse_with_mart(tmp_path / "w.duckdb", 1) as con:
        publish(con, serving, now=start)
    reader, old = connect_current(serving)
    with reader:
        with warehouse_with_mart(tmp_path / "w.duckdb", 2) as con:
            new = publish(con, serving, now=start + timedelta(minutes=1))
        # the old reader still answers from its version; new readers get the new one
        assert reader.execute("SELECT value FROM marts.kpi").fetchone() == (1,)
        fresh, snapshot = connect_current(serving)
        with fresh:
            assert snapshot.version == new.version != old.version
            assert fresh.execute("SELECT value FROM marts.kpi").fetchone() == (2,)


def test_only_the_newest_versions_are_kept(tmp_path):
    serving = tmp_path / "serving"
    start = datetime(2026, 11, 24, tzinfo=UTC)
    with warehouse_with_mart(tmp_path / "w.duckdb", 1) as con:
        for minute in range(5):
            last = publish(con, serving, keep=2, now=start + timedelta(minutes=minute))
    remaining = sorted(p.name for p in (serving / "snapshots").glob("*.duckdb"))
    assert len(remaining) == 2
    assert remaining[-1] == last.path.name


# two whole-pipeline runs: in the slow step of CI, keeping the default suite short
@pytest.mark.slow
def test_dashboard_read_stays_open_while_the_whole_pipeline_runs(d2b_home, dbt_manifest):
    from dagster_project.definitions import ALL_ASSETS_JOB, defs
    from dagster_project.defs.dbt_models import as_of_run_config

    approved = datetime(2026, 6, 1, 9)
    write_page(
        d2b_home.landing,
        "p1.json",
        [Entry(1, date(2026, 5, 29), 4, submitted_at=approved, approved_at=approved)],
    )
    job = defs().resolve_job_def(ALL_ASSETS_JOB)
    config = as_of_run_config("2026-06-30")
    assert job.execute_in_process(run_config=config).success

    reader, first = connect_current(d2b_home.serving)
    with reader:
        query = "SELECT sum(unbilled_approved_hours) FROM marts.unbilled_approved_hours"
        assert float(reader.execute(query).fetchone()[0]) == 4.0

        write_page(
            d2b_home.landing,
            "p2.json",
            [Entry(2, date(2026, 5, 29), 3, submitted_at=approved, approved_at=approved)],
        )
        # the writer runs everything, publish included, while the reader holds its snapshot
        assert job.execute_in_process(run_config=config).success
        assert float(reader.execute(query).fetchone()[0]) == 4.0

    fresh, second = connect_current(d2b_home.serving)
    with fresh:
        assert second.version != first.version
        assert float(fresh.execute(query).fetchone()[0]) == 7.0
    # and the writer's file itself is free again
    duckdb.connect(str(d2b_home.warehouse)).close()
